// moejit precompile on the real binary: a small matrix compiles into a fresh cache directory and a
// second run finds every kernel cached; manifests, presets (the keys MoePlan::select looks up),
// --json, failures and usage errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/spec_syntax.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_checks.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliPrecompile = CliTest;

// The two cheapest kernels to compile (about 0.2 s each).
const std::vector<std::string> kSmallMatrix{"precompile", "--arch",           "sm_90",
                                            "--variant",  "scalar_gguf,wmma", "--format",
                                            "q8_0",       "--dtype",          "f32,f16"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The number of kernel entries under a cache directory.
int entry_count(const fs::path& cache) {
  int n = 0;
  if (!fs::exists(cache)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(cache))
    if (e.path().filename() == "kernel.cubin" &&
        e.path().string().find("quarantine") == std::string::npos)
      ++n;
  return n;
}

TEST_F(CliPrecompile, SecondRunFindsEveryKernelCached) {
  const std::string cache = path("cache").string();
  const CliResult first = run_clean(with(kSmallMatrix, {"--cache-dir", cache, "-j", "2"}));
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  EXPECT_TRUE(contains(first.out, "precompile: 2 kernels for sm_90")) << first.out;
  EXPECT_TRUE(contains(first.out, "compiled        2")) << first.out;
  EXPECT_TRUE(contains(first.out, "failed          0")) << first.out;
  // Not a terminal: one line per kernel on stderr.
  EXPECT_TRUE(contains(first.err, "[1/2] compiled")) << first.err;
  EXPECT_TRUE(contains(first.err, "scalar_gguf:q8_0:f32:sm_90:")) << first.err;
  EXPECT_TRUE(contains(first.err, "wmma:f16:sm_90a:")) << first.err;
  EXPECT_EQ(entry_count(cache), 2);

  const CliResult second = run_clean(with(kSmallMatrix, {"--cache-dir", cache, "--json"}));
  ASSERT_EQ(second.status, 0) << second.err;
  const auto summary = nlohmann::json::parse(second.out);
  EXPECT_EQ(summary["total"], 2);
  EXPECT_EQ(summary["cached"], 2);
  EXPECT_EQ(summary["compiled"], 0);
  EXPECT_EQ(summary["failed"], 0);
  for (const auto& k : summary["kernels"]) {
    EXPECT_EQ(k["status"], "cached");
    EXPECT_EQ(k["found_in"], "disk");
    EXPECT_EQ(k["digest"].get<std::string>().size(), 64u);
  }
  const CliResult text = run_clean(with(kSmallMatrix, {"--cache-dir", cache}));
  EXPECT_TRUE(contains(text.out, "all 2 kernels already cached")) << text.out;

  // A manifest naming the same kernels (as a string and as an object) compiles nothing.
  std::ofstream(path("kernels.json")) << R"({"kernels": [
      "scalar_gguf:q8_0",
      {"variant": "wmma", "dtype": "f16"}]})";
  const CliResult manifest = run_clean(
      {"precompile", "--arch", "sm_90", "--manifest", "kernels.json", "--cache-dir", cache});
  EXPECT_EQ(manifest.status, 0) << manifest.out << manifest.err;
  EXPECT_TRUE(contains(manifest.out, "all 2 kernels already cached")) << manifest.out;
  EXPECT_EQ(entry_count(cache), 2);
}

TEST_F(CliPrecompile, PresetKeysAreTheOnesSelectLooksUp) {
  const CliResult r =
      run_clean({"precompile", "--arch", "sm_90", "--preset", "qwen3-30b-a3b", "--variant",
                 "wmma_gguf", "--format", "q4_k", "--dtype", "bf16", "--dry-run", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> listed;
  const auto dry_run = nlohmann::json::parse(r.out);
  for (const auto& k : dry_run["kernels"]) listed.push_back(k["key"].get<std::string>());
  // What MoePlan::select builds for qwen3-30b-a3b's shapes, decode and prefill.
  const struct {
    std::int64_t tokens, n, k;
    bool prefill;
  } problems[] = {{1, 768, 2048, false},  {8, 1536, 2048, false},   {64, 2048, 768, false},
                  {128, 768, 2048, true}, {1024, 1536, 2048, true}, {8192, 2048, 768, true}};
  for (const auto& p : problems) {
    MoeDescriptor d;
    d.num_tokens = p.tokens;
    d.num_experts = 128;
    d.top_k = 8;
    d.d_expert = p.n;
    d.d_model = p.k;
    d.variant = MoeVariant::WmmaGguf;
    d.block_format = GgufBlockFormat::Q4_K;
    d.element = ElementKind::Bf16;
    d.is_prefill = p.prefill;
    const std::string key = kernel_key_text(plan_checks::make_spec(d, GpuArch{90, false}, false));
    EXPECT_NE(std::find(listed.begin(), listed.end(), key), listed.end())
        << key << " (T=" << p.tokens << ") is not in the preset:\n"
        << r.out;
  }
  // Duplicates are merged: every key once.
  std::vector<std::string> sorted = listed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
}

TEST_F(CliPrecompile, DryRunOfTheFlagMatrixUsesTheSpecSyntaxDefaults) {
  const CliResult r = run_clean({"precompile", "--arch", "sm_80,sm_90", "--variant", "wmma_gguf",
                                 "--format", "q4_k", "--dtype", "f16", "--dry-run"});
  ASSERT_EQ(r.status, 0) << r.err;
  SpecDefaults defaults;
  for (int sm : {80, 90}) {
    defaults.arch = GpuArch{sm, false};
    const std::string key = kernel_key_text(parse_kernel_spec("wmma_gguf:q4_k:f16", defaults));
    EXPECT_TRUE(contains(r.out, key + "  (flags)")) << key << "\n" << r.out;
  }
  EXPECT_TRUE(contains(r.out, "2 kernels")) << r.out;
}

TEST_F(CliPrecompile, InvalidTileFailsThatKernelAndExits1) {
  const CliResult r = run_clean({"precompile", "--arch", "sm_90", "--variant", "wmma", "--dtype",
                                 "f16", "--tile", "24x64x32", "--cache-dir", path("c").string()});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "failed          1")) << r.out;
  EXPECT_TRUE(contains(r.out, "failed kernels:")) << r.out;
  EXPECT_TRUE(contains(r.out, "BM=24")) << r.out;
  EXPECT_TRUE(contains(r.err, "[1/1] failed")) << r.err;
}

TEST_F(CliPrecompile, UnwritableCacheDirectoryIsAnError) {
  std::ofstream(path("not-a-dir")) << "x";
  const CliResult r = run_clean(with(kSmallMatrix, {"--cache-dir", path("not-a-dir").string()}));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "cannot be written")) << r.err;
}

TEST_F(CliPrecompile, ManifestErrorsNameTheEntry) {
  std::ofstream(path("bad.json")) << R"(["wmma:f16", "wmma_gguf:q4_x"])";
  CliResult r = run_clean({"precompile", "--arch", "sm_90", "--manifest", "bad.json"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "entry 2")) << r.err;
  EXPECT_TRUE(contains(r.err, "'q4_x' is not a weight format")) << r.err;
  std::ofstream(path("keys.json")) << R"([{"variant": "wmma", "colour": "red"}])";
  r = run_clean({"precompile", "--arch", "sm_90", "--manifest", "keys.json"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "unknown key 'colour'")) << r.err;
  std::ofstream(path("syntax.json")) << "[\"wmma:f16\",";
  r = run_clean({"precompile", "--arch", "sm_90", "--manifest", "syntax.json"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "not valid JSON")) << r.err;
}

TEST_F(CliPrecompile, BadValuesAreUsageErrors) {
  CliResult r = run_clean({"precompile", "--arch", "sm_90", "--variant", "dense", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "'dense' is not a variant; allowed: all scalar_gguf wmma wmma_gguf"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "usage: moejit precompile")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_75", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "'sm_75' is not a supported architecture")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--format", "q8_1", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "'q8_1' is not a weight format")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--tile", "64x64", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "^^^^^")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--variant", "wmma", "--dtype", "f32"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "nothing to compile")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--preset", "llama", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown preset 'llama'")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--preset", "default", "--tile", "64x64x64"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--tile belongs to the flag matrix")) << r.err;
  r = run_clean({"precompile", "--arch", "sm_90", "--shape", "1,8,768,2048", "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--shape '1,8,768,2048': TOPK 8 exceeds the number of experts E 1"))
      << r.err;
}

TEST_F(CliPrecompile, ShapesSelectRejectsEverywhereSayWhy) {
  // K 250 and N 17 are no multiple of q4_K's 256-element blocks: every problem is rejected.
  const CliResult r = run_clean({"precompile", "--arch", "sm_90", "--shape", "8,2,17,250",
                                 "--variant", "scalar_gguf", "--format", "q4_k", "--dry-run"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "nothing to compile: select rejects all 42 problems")) << r.err;
  EXPECT_TRUE(contains(r.err,
                       "the first: preset shape 8,2,17,250 gate/up T=1 decode on sm_90: "
                       "InvalidProblem: d_model (250) must be a multiple of 256"))
      << r.err;
}

TEST_F(CliPrecompile, WithoutArchOrGpuSaysToPassArch) {
  if (driver::available()) GTEST_SKIP() << "a GPU is present: its architecture is used";
  const CliResult r = run_clean({"precompile", "--variant", "wmma", "--dry-run"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "no --arch given and no GPU")) << r.err;
  EXPECT_TRUE(contains(r.err, "pass --arch")) << r.err;
}

}  // namespace
}  // namespace moejit::cli_test
