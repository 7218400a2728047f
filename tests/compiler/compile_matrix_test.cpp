// Every variant x format x element with its default tile compiles through NVRTC for sm_80 and
// sm_90, with a cubin, PTX, lowered names and resource usage for every kernel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>

#include "codegen/kernel_key.hpp"
#include "compiler_test_util.hpp"
#include "runtime/compiler.hpp"

namespace moejit {
namespace {

void expect_complete(const KernelSpec& spec, const Artifact& art, const std::string& bundle) {
  const std::string key = kernel_key_text(spec);
  SCOPED_TRACE(key);
  EXPECT_EQ(art.key_text, key);
  EXPECT_EQ(art.arch, spec.arch.to_string());
  EXPECT_EQ(art.source, emit_source(spec).code);
  EXPECT_EQ(art.options, emit_source(spec).options);
  CompileOptions opts;
  const TemplateSource embedded = TemplateSource::embedded();
  opts.templates = &embedded;
  EXPECT_EQ(art.digest, kernel_key_parts(spec, opts).digest());
  EXPECT_EQ(embedded.bundle_hash(), bundle);
  ASSERT_GT(art.cubin.size(), 4u);
  EXPECT_EQ(std::memcmp(art.cubin.data(),
                        "\x7f"
                        "ELF",
                        4),
            0);
  EXPECT_NE(art.ptx.find(".target " + spec.arch.to_string()), std::string::npos);
  const KernelTemplate tmpl = kernel_template(spec);
  ASSERT_EQ(art.kernels.size(), tmpl.name_expressions.size());
  for (std::size_t i = 0; i < art.kernels.size(); ++i) {
    const KernelEntry& k = art.kernels[i];
    EXPECT_EQ(k.name_expression, tmpl.name_expressions[i]);
    EXPECT_EQ(k.lowered_name.rfind("_Z", 0), 0u) << k.lowered_name;
    EXPECT_NE(art.ptx.find(".entry " + k.lowered_name), std::string::npos) << k.lowered_name;
    EXPECT_GT(k.resources.registers, 0) << k.lowered_name;
    EXPECT_LE(k.resources.registers, 255);
    if (k.resources.spill_store_bytes > 0 || k.resources.local_bytes > 0)
      std::cout << "[ spills   ] " << key << ": " << k.name_expression << " stack "
                << k.resources.local_bytes << " B, spill stores " << k.resources.spill_store_bytes
                << " B\n";
  }
  EXPECT_EQ(art.kernels[0].resources.shared_dynamic_bytes, static_cast<int>(shared_bytes(spec)));
  EXPECT_GT(art.compile_ms, 0.0);
}

TEST(CompileMatrix, EveryDefaultKernelCompilesForSm80AndSm90) {
  const TemplateSource templates = TemplateSource::embedded();
  std::vector<KernelSpec> specs = test::all_default_specs("sm_80");
  for (const KernelSpec& s : test::all_default_specs("sm_90")) specs.push_back(s);
  std::vector<std::optional<Artifact>> arts(specs.size());
  std::vector<std::string> errors(specs.size());
  test::parallel_for(specs.size(), [&](std::size_t i) {
    CompileOptions opts;
    opts.templates = &templates;
    try {
      arts[i] = compile_kernel(specs[i], opts);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  std::map<std::string, std::vector<double>> ms;  // per variant
  for (std::size_t i = 0; i < specs.size(); ++i) {
    ASSERT_TRUE(arts[i]) << errors[i];
    expect_complete(specs[i], *arts[i], templates.bundle_hash());
    ms[std::string(variant_name(specs[i].variant))].push_back(arts[i]->compile_ms);
  }
  for (auto& [variant, times] : ms) {
    std::sort(times.begin(), times.end());
    std::cout << "[ compile  ] " << variant << ": " << times.size() << " kernels, median "
              << times[times.size() / 2] << " ms, max " << times.back() << " ms (parallel)\n";
  }
}

TEST(CompileMatrix, ArchSpecificTarget) {
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q6_k:bf16:sm_90a");
  const Artifact art = compile_kernel(spec);
  expect_complete(spec, art, TemplateSource::current().bundle_hash());
}

TEST(CompileMatrix, WarpgroupTilesCompileForSm90a) {
  // Every warpgroup layout of the Wmma kernel on sm_90a, f16 and bf16: wgmma in the PTX, no
  // spills, the template's shared memory.
  const char* const tiles[] = {"64x64x64:w4:s4",  "64x128x64:w4:s4",  "64x256x64:w4:s4",
                               "64x128x64:w8:s3", "128x256x64:w8:s4", "192x128x64:w12:s5"};
  std::vector<KernelSpec> specs;
  for (const char* element : {"f16", "bf16"})
    for (const char* tile : tiles)
      specs.push_back(parse_kernel_spec(std::string("wmma:") + element + ":sm_90a:" + tile));
  // wmma_gguf: a 32-element and a 256-element format, BK 64 to 256.
  for (const char* text :
       {"wmma_gguf:q5_1:bf16:sm_90a:128x64x64:w8:s3", "wmma_gguf:q4_k:f16:sm_90a:64x128x128:w4:s3",
        "wmma_gguf:q6_k:bf16:sm_90a:64x64x256:w4:s3"})
    specs.push_back(parse_kernel_spec(text));
  // Register-weight tiles: one and two warpgroups, the narrowest and the widest m-tile bound.
  for (const char* text : {"wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4:rw",
                           "wmma_gguf:q8_0:f16:sm_90a:128x64x64:w4:s3:rw",
                           "wmma_gguf:q8_0:bf16:sm_90a:32x64x64:w4:s6:rw"})
    specs.push_back(parse_kernel_spec(text));
  std::vector<std::optional<Artifact>> arts(specs.size());
  std::vector<std::string> errors(specs.size());
  test::parallel_for(specs.size(), [&](std::size_t i) {
    try {
      arts[i] = compile_kernel(specs[i]);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < specs.size(); ++i) {
    ASSERT_TRUE(arts[i]) << errors[i];
    expect_complete(specs[i], *arts[i], TemplateSource::current().bundle_hash());
    EXPECT_NE(arts[i]->ptx.find("wgmma.mma_async.sync.aligned.m64n"), std::string::npos);
    EXPECT_EQ(arts[i]->kernels[0].resources.spill_store_bytes, 0) << arts[i]->key_text;
  }
}

TEST(CompileMatrix, CompiledSizesAreBakedIn) {
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q4_k:f16:sm_80:n=768:k=2048");
  const Artifact art = compile_kernel(spec);
  expect_complete(spec, art, TemplateSource::current().bundle_hash());
  EXPECT_NE(art.digest, compile_kernel(parse_kernel_spec("wmma_gguf:q4_k:f16:sm_80")).digest);
}

TEST(CompileMatrix, SameSpecGivesTheSameBinary) {
  const KernelSpec spec = parse_kernel_spec("scalar_gguf:q5_k:sm_86");
  const Artifact a = compile_kernel(spec);
  const Artifact b = compile_kernel(spec);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.ptx, b.ptx);
  EXPECT_EQ(a.cubin, b.cubin);
  // The second compile runs ptxas again (no hidden NVRTC cache), so its usage is reported too.
  EXPECT_GT(b.kernels.at(0).resources.registers, 0);
  EXPECT_EQ(a.kernels.at(0).resources.registers, b.kernels.at(0).resources.registers);
  EXPECT_NE(b.log.find("ptxas"), std::string::npos) << b.log;
}

}  // namespace
}  // namespace moejit
