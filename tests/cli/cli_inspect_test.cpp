// moejit inspect on the real binary: the generated source with the kernel's name expressions,
// every part of the cache key, the entry on disk, resources, options, the SASS or how to get
// it, JSON output, bare single parts, and spec errors that point at the bad part.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/spec_syntax.hpp"
#include "runtime/compiler.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliInspect = CliTest;

constexpr const char* kSpec = "scalar_gguf:q8_0:sm_90";

TEST_F(CliInspect, ShowsSourceKeyEntryAndResources) {
  const std::string cache = path("cache").string();
  const CliResult r = run_clean({"inspect", kSpec, "--cache-dir", cache});
  ASSERT_EQ(r.status, 0) << r.err;
  SpecDefaults defaults;
  const KernelSpec spec = parse_kernel_spec(kSpec, defaults);
  // The source holds every name expression the kernel registers with NVRTC.
  for (const std::string& name : kernel_template(spec).name_expressions)
    EXPECT_TRUE(contains(r.out, name)) << name << "\n" << r.out;
  // Every part of the cache key, digest first.
  const KeyParts key = kernel_key_parts(spec);
  for (const auto& [label, value] : key.describe())
    EXPECT_TRUE(contains(r.out, value)) << label << " = " << value;
  EXPECT_TRUE(contains(r.out, "filled in: element f32, tile")) << r.out;
  const fs::path entry = fs::path(cache) / "v1" / key.digest().substr(0, 2) / key.digest();
  EXPECT_TRUE(contains(r.out, entry.string())) << r.out;
  EXPECT_TRUE(fs::exists(entry / "kernel.cubin"));
  EXPECT_TRUE(contains(r.out, "compiled now, stored in the writable cache")) << r.out;
  for (const char* part :
       {"== cache key ==", "== cache entry ==", "== NVRTC options ==", "== resources ==",
        "== NVRTC log ==", "== CUDA source ==", "== PTX ==", "== SASS ==",
        "--gpu-architecture=sm_90", "registers", "spills", ".target sm_90", "ptxas info"})
    EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
  // SASS when a disassembler is installed, otherwise how to get it.
  EXPECT_TRUE(contains(r.out, "no SASS: neither cuobjdump nor nvdisasm") ||
              contains(r.out, "Function : "))
      << r.out;

  // The second time the kernel comes from the cache.
  const CliResult again = run_clean({"inspect", kSpec, "--cache-dir", cache, "--what", "path"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "found in the writable cache")) << again.out;
  EXPECT_FALSE(contains(again.out, "== CUDA source ==")) << again.out;
}

TEST_F(CliInspect, JsonHoldsTheRequestedParts) {
  const CliResult r = run_clean({"inspect", kSpec, "--cache-dir", path("cache").string(), "--json",
                                 "--what", "key,resources,options,source,sass"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kernel"], kernel_key_text(parse_kernel_spec(kSpec, SpecDefaults{})));
  EXPECT_EQ(j["key"]["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["key"]["arch"], "sm_90");
  ASSERT_EQ(j["resources"].size(), 2u);
  EXPECT_GT(j["resources"][0]["registers"].get<int>(), 0);
  EXPECT_TRUE(j["resources"][0].contains("spill_store_bytes"));
  EXPECT_NE(std::find(j["options"].begin(), j["options"].end(), "--gpu-architecture=sm_90"),
            j["options"].end());
  EXPECT_TRUE(contains(j["source"].get<std::string>(), "#include \"scalar_gguf.cuh\""));
  EXPECT_TRUE(j["sass"].is_string() || j.contains("sass_missing"));
  EXPECT_FALSE(j.contains("ptx"));
  EXPECT_FALSE(j.contains("log"));
}

TEST_F(CliInspect, OnePartAlonePrintsBare) {
  const CliResult r =
      run_clean({"inspect", kSpec, "--cache-dir", path("cache").string(), "--what", "source"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("// moejit kernel scalar_gguf:q8_0:f32:sm_90:")) << r.out;
  EXPECT_FALSE(contains(r.out, "== CUDA source =="));
  EXPECT_FALSE(contains(r.out, "kernel  scalar_gguf"));
}

TEST_F(CliInspect, ArchFromTheOptionWhenTheSpecHasNone) {
  const CliResult r = run_clean({"inspect", "scalar_gguf:q8_0", "--arch", "sm_90", "--cache-dir",
                                 path("cache").string(), "--what", "key"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "arch sm_90 (from --arch)")) << r.out;
  const CliResult clash =
      run_clean({"inspect", "scalar_gguf:q8_0:sm_80", "--arch", "sm_90", "--what", "key"});
  EXPECT_EQ(clash.status, 2);
  EXPECT_TRUE(contains(clash.err, "contradicts the spec's sm_80")) << clash.err;
}

TEST_F(CliInspect, BadSpecPointsAtThePart) {
  CliResult r = run_clean({"inspect", "wmma_gguf:q4_k:bf17"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "'bf17' is not a spec part")) << r.err;
  EXPECT_TRUE(contains(r.err, "  wmma_gguf:q4_k:bf17\n                 ^^^^")) << r.err;
  EXPECT_TRUE(contains(r.err, "allowed:")) << r.err;
  r = run_clean({"inspect", "scalar_gguf:q4_k:bf16"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "allowed: f32")) << r.err;
  r = run_clean({"inspect", kSpec, "--what", "everything"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown part 'everything'")) << r.err;
  r = run_clean({"inspect"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "missing the SPEC argument")) << r.err;
}

}  // namespace
}  // namespace moejit::cli_test
