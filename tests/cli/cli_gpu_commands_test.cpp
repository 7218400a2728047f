// moejit verify and bench on the real binary: without a GPU a clear no-device message and exit
// status 1 (never a crash); on a GPU machine small problems (one with an odd count of 16-bit
// outputs) pass and are timed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliGpuCommands = CliTest;

const std::vector<std::string> kProblem{"--tokens", "4",   "--experts", "8",   "--top-k",
                                        "2",        "--n", "128",       "--k", "256"};

std::vector<std::string> command(const char* name, const char* spec,
                                 std::vector<std::string> more = {}) {
  std::vector<std::string> args{name, spec};
  args.insert(args.end(), kProblem.begin(), kProblem.end());
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(CliGpuCommands, VerifyWithoutGpuSaysSo) {
  if (driver::available()) GTEST_SKIP() << "a GPU is present: see VerifyPassesOnTheGpu";
  for (const char* name : {"verify", "bench"}) {
    const CliResult r = run_clean(command(name, "wmma_gguf:q4_k:bf16"));
    EXPECT_EQ(r.status, 1) << name << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "moejit: error: NoDevice: no CUDA device")) << r.err;
    EXPECT_TRUE(contains(r.err, std::string("`moejit ") + name + "` runs kernels")) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST_F(CliGpuCommands, VerifyPassesOnTheGpu) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: verify needs a GPU";
  const CliResult r = run_clean(command("verify", "wmma_gguf:q4_k:bf16", {"--json"}),
                                {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["pass"].get<bool>());
  EXPECT_EQ(j["checked"], 4 * 2 * 128);
  EXPECT_TRUE(contains(j["kernel"].get<std::string>(), "wmma_gguf:q4_k:bf16:sm_"));
}

TEST_F(CliGpuCommands, VerifyChecksAnOddCountOfHalfOutputs) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: verify needs a GPU";
  // 3 pairs x 45 bf16 columns: 270 bytes of output, not whole 4-byte words.
  const CliResult r = run_clean({"verify", "wmma:bf16", "--tokens", "3", "--experts", "4",
                                 "--top-k", "1", "--n", "45", "--k", "264", "--json"},
                                {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["pass"].get<bool>());
  EXPECT_EQ(j["checked"], 3 * 45);
}

TEST_F(CliGpuCommands, BenchTimesOnTheGpu) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: bench needs a GPU";
  const CliResult r = run_clean(command("bench", "scalar_gguf:q8_0", {"--iters", "20", "--json"}),
                                {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["median_us"].get<double>(), 0.0);
  EXPECT_GT(j["alone_median_us"].get<double>(), 0.0);
  EXPECT_LE(j["min_us"].get<double>(), j["median_us"].get<double>());
  EXPECT_GT(j["gb_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["tflop_per_s"].get<double>(), 0.0);
}

TEST_F(CliGpuCommands, BenchRotatesWhatOneRunReadsOutOfL2) {
  // 128 experts of 768 x 2048 bf16 weights are 403 MB, more than four L2 sizes of any GPU so
  // far, but one token touches 8 of them (25 MB): without copies those stay in L2 run after run.
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: bench needs a GPU";
  const CliResult r = run_clean(
      std::vector<std::string>{"bench", "wmma:bf16", "--tokens", "1", "--experts", "128", "--top-k",
                               "8", "--n", "768", "--k", "2048", "--iters", "20", "--json"},
      {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["operand_copies"].get<int>(), 1) << r.out;
}

TEST_F(CliGpuCommands, SpecWithAnArchitectureRunsOnTheGpu) {
  // A spec naming the target (not read from a current context) still finds the device to run on.
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: bench and verify need a GPU";
  const std::string arch = driver::device_arch(0).to_string();
  const std::string spec = "scalar_gguf:q8_0:" + arch;
  std::string named = ":";  // the arch as a part of the kernel's key
  named += arch;
  named += ':';
  for (const char* name : {"bench", "verify"}) {
    const CliResult r = run_clean(command(name, spec.c_str(), {"--json"}),
                                  {"MOEJIT_CACHE_DIR=" + path("cache").string()});
    ASSERT_EQ(r.status, 0) << name << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.out, named)) << r.out;
  }
}

TEST_F(CliGpuCommands, ProblemOptionsAreCheckedFirst) {
  CliResult r = run_clean({"verify", "wmma:f16", "--top-k", "9", "--experts", "8"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--top-k must be in [1, --experts]")) << r.err;
  r = run_clean({"bench", "wmma:f16", "--weights", "--no-weights"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "not both")) << r.err;
  r = run_clean({"verify", "wmma:f16:k=512", "--k", "256"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "contradicts the spec's k=512")) << r.err;
  r = run_clean({"bench", "wmma:q4_k"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "wmma takes dense weights")) << r.err;
  r = run_clean({"bench", "wmma:f16", "--iters", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--iters must be at least 1")) << r.err;
}

}  // namespace
}  // namespace moejit::cli_test
