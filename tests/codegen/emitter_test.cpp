// The source emitter: golden translation units, determinism, the MoeParams size check, options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "codegen/emitter.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"
#include "templates/moe_params.cuh"
#include "tests/default_specs.hpp"

namespace moejit {
namespace {

std::filesystem::path golden_dir() {
  return std::filesystem::path(MOEJIT_SOURCE_DIR) / "tests" / "codegen" / "golden";
}

// Compares against tests/codegen/golden/<name>; MOEJIT_UPDATE_GOLDEN=1 rewrites the file.
void expect_golden(const std::string& name, const std::string& actual) {
  const auto path = golden_dir() / name;
  if (const char* u = std::getenv("MOEJIT_UPDATE_GOLDEN"); u != nullptr && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << " (create it with MOEJIT_UPDATE_GOLDEN=1)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "generated source for " << name << " changed: if intended, bump kCodegenVersion in "
      << "codegen/kernel_key.hpp and rerun with MOEJIT_UPDATE_GOLDEN=1";
}

TEST(Emitter, GoldenSources) {
  // Full keys, so that a change of the default tile heuristics does not touch these files.
  const std::pair<const char*, const char*> cases[] = {
      {"wmma_bf16_sm90.cu", "wmma:bf16:sm_90:16x64x128:w4:s4"},
      {"wmma_gguf_q4_k_f16_sm80.cu", "wmma_gguf:q4_k:f16:sm_80:16x64x64:w4:s3"},
      {"wmma_gguf_q6_k_bf16_sm90a_k4096.cu", "wmma_gguf:q6_k:bf16:sm_90a:16x64x64:w4:s3:k=4096"},
      {"scalar_gguf_q8_0_sm86.cu", "scalar_gguf:q8_0:f32:sm_86:4x8x0:w4:s1"},
  };

  for (const auto& [file, text] : cases)
    expect_golden(file, emit_source(parse_kernel_spec(text)).code);
}

TEST(Emitter, DeterministicAndDistinct) {
  std::set<std::string> codes;
  std::size_t count = 0;
  for (const char* arch : {"sm_80", "sm_90"}) {
    for (const KernelSpec& spec : test::all_default_specs(arch)) {
      const KernelSource a = emit_source(spec);
      const KernelSource b = emit_source(KernelSpec(spec));
      EXPECT_EQ(a.code, b.code);
      EXPECT_EQ(a.name_expressions, b.name_expressions);
      EXPECT_EQ(a.options, b.options);
      codes.insert(a.code);
      ++count;
    }
  }
  EXPECT_EQ(count, 64u);
  EXPECT_EQ(codes.size(), count) << "two specs produced the same translation unit";
}

TEST(Emitter, ShortUnitWithBannerIncludesAndAsserts) {
  for (const KernelSpec& spec : test::all_default_specs("sm_90")) {
    const KernelSource src = emit_source(spec);
    const KernelTemplate tmpl = kernel_template(spec);
    const std::string& c = src.code;
    EXPECT_EQ(src.key_text, kernel_key_text(spec));
    EXPECT_EQ(c.rfind("// moejit kernel " + src.key_text + " (codegen " +
                          std::to_string(kCodegenVersion) + ")\n",
                      0),
              0u)
        << c;
    EXPECT_NE(c.find("static_assert(sizeof(moejit::MoeParams) == " +
                     std::to_string(sizeof(MoeParams)) + ","),
              std::string::npos)
        << c;
    for (const std::string& inc : tmpl.includes)
      EXPECT_NE(c.find("#include \"" + inc + "\"\n"), std::string::npos) << inc;
    for (const std::string& cond : tmpl.static_asserts)
      EXPECT_NE(c.find("static_assert(" + cond + ", "), std::string::npos) << cond;
    EXPECT_EQ(src.name_expressions, tmpl.name_expressions);
    EXPECT_EQ(src.arch, "sm_90");
    EXPECT_EQ(src.shared_bytes, shared_bytes(spec));
    EXPECT_LE(std::count(c.begin(), c.end(), '\n'), 40) << c;
    EXPECT_EQ(c.find("${"), std::string::npos);
  }
}

TEST(Emitter, OptionsHaveAFixedOrder) {
  EXPECT_EQ(nvrtc_options({80, false}),
            (std::vector<std::string>{"-std=c++17", "--gpu-architecture=sm_80", "-default-device",
                                      "-lineinfo", "--ptxas-options=-v"}));
  EXPECT_EQ(nvrtc_options({90, true})[1], "--gpu-architecture=sm_90a");
  const KernelSource src = emit_source(parse_kernel_spec("wmma:f16:sm_90a"));
  EXPECT_EQ(src.options, nvrtc_options({90, true}));
  EXPECT_EQ(src.arch, "sm_90a");
  for (const std::string& o : src.options) EXPECT_NE(o.rfind("-I", 0), 0u) << o;
}

TEST(Emitter, InvalidSpecThrowsNamingTheKey) {
  KernelSpec spec = parse_kernel_spec("wmma:f16:sm_80");
  spec.element = ElementKind::F32;
  try {
    emit_source(spec);
    FAIL() << "an f32 wmma spec was emitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find(kernel_key_text(spec)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moejit
