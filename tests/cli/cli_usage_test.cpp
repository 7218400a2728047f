// The moejit command line: help and version, and exit status 2 with usage for anything it cannot
// parse (no or unknown command, unknown flag, missing option, unknown format).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliUsage = CliTest;

TEST_F(CliUsage, HelpListsEveryCommand) {
  for (const char* flag : {"--help", "-h"}) {
    const CliResult r = run({flag});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "usage: moejit")) << r.out;
    for (const char* command :
         {"precompile", "inspect", "cache", "verify", "bench", "dequant", "quantize"})
      EXPECT_TRUE(contains(r.out, std::string("  ") + command + " ")) << command << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "VARIANT[:FORMAT][:ELEMENT][:ARCH]")) << r.out;
    EXPECT_TRUE(contains(r.out, "MOEJIT_CACHE_READONLY_DIRS")) << r.out;
    EXPECT_TRUE(contains(r.out, "decode raw GGUF blocks")) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

TEST_F(CliUsage, VersionPrintsTheLibraryVersion) {
  const CliResult r = run({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^moejit [0-9]+\\.[0-9]+\\.[0-9]+\n$"))) << r.out;
}

TEST_F(CliUsage, CommandHelpShowsItsOptionsAndFormats) {
  for (const char* command : {"dequant", "quantize"}) {
    const CliResult r = run({command, "--help"});
    EXPECT_EQ(r.status, 0) << r.err;
    for (const char* part :
         {"--format", "--input", "--output", "--json", "q4_0", "q6_k", "usage: moejit "}) {
      EXPECT_TRUE(contains(r.out, part)) << command << " help lacks " << part << ":\n" << r.out;
    }
    EXPECT_TRUE(contains(r.out, std::string("usage: moejit ") + command)) << r.out;
  }
}

TEST_F(CliUsage, KernelCommandsHaveCompleteHelp) {
  const struct {
    const char* command;
    std::vector<const char*> parts;
  } cases[] = {
      {"precompile",
       {"--arch", "--variant", "--format", "--dtype", "--tile", "--manifest", "--preset", "--shape",
        "--cache-dir", "--jobs", "--dry-run", "--json", "Manifest (--manifest FILE)",
        "qwen3-30b-a3b", "mixtral-8x7b", "Examples:", "Kernel spec syntax"}},
      {"inspect",
       {"--arch", "--what", "--cache-dir", "--json", "source, ptx, sass", "Kernel spec syntax"}},
      {"cache",
       {"ls", "stats", "verify", "prune", "clear", "--max-bytes", "--cache-dir", "--json"}},
      {"verify",
       {"--tokens", "--experts", "--top-k", "--n", "--k", "--weights", "--no-weights", "--prefill",
        "--seed", "--json", "precision guarantee"}},
      {"bench", {"--tokens", "--warmup", "--iters", "--no-rotate", "--json", "GB/s", "TFLOP/s"}},
  };
  for (const auto& c : cases) {
    const CliResult r = run({c.command, "--help"});
    EXPECT_EQ(r.status, 0) << c.command << ": " << r.err;
    EXPECT_TRUE(contains(r.out, std::string("usage: moejit ") + c.command)) << r.out;
    for (const char* part : c.parts)
      EXPECT_TRUE(contains(r.out, part)) << c.command << " help lacks " << part << ":\n" << r.out;
  }
}

TEST_F(CliUsage, KernelCommandsRejectUnknownFlagsWithExit2) {
  for (const char* command : {"precompile", "inspect", "cache", "verify", "bench"}) {
    const CliResult r = run({command, "--frobnicate"});
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_TRUE(contains(r.err, std::string("moejit: error: ") + command + ":")) << r.err;
    EXPECT_TRUE(contains(r.err, "--frobnicate")) << r.err;
    EXPECT_TRUE(contains(r.err, std::string("usage: moejit ") + command)) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST_F(CliUsage, NoCommandExits2WithUsage) {
  const CliResult r = run({});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "moejit: error: no command given")) << r.err;
  EXPECT_TRUE(contains(r.err, "usage: moejit")) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliUsage, UnknownCommandExits2WithTheCommandList) {
  const CliResult r = run({"frobnicate", "--format", "q4_0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "moejit: error: unknown command 'frobnicate'")) << r.err;
  EXPECT_TRUE(contains(r.err, "dequant")) << r.err;
  const CliResult flag = run({"--frobnicate"});
  EXPECT_EQ(flag.status, 2);
  EXPECT_TRUE(contains(flag.err, "unknown option '--frobnicate'")) << flag.err;
}

TEST_F(CliUsage, UnknownFlagExits2WithTheCommandUsage) {
  const CliResult r = run({"quantize", "--format", "q4_0", "--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "moejit: error: quantize:")) << r.err;
  EXPECT_TRUE(contains(r.err, "--bogus")) << r.err;
  EXPECT_TRUE(contains(r.err, "usage: moejit quantize")) << r.err;
  const CliResult positional = run({"dequant", "stray"});
  EXPECT_EQ(positional.status, 2) << positional.err;
  EXPECT_TRUE(contains(positional.err, "usage: moejit dequant")) << positional.err;
  const CliResult no_value = run({"dequant", "--input"});
  EXPECT_EQ(no_value.status, 2) << no_value.err;
}

TEST_F(CliUsage, MissingRequiredOptionExits2) {
  const CliResult r = run({"dequant", "--format", "q8_0", "--input", "in.raw"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "missing required option --output")) << r.err;
  const CliResult no_format = run({"quantize", "-i", "a", "-o", "b"});
  EXPECT_EQ(no_format.status, 2);
  EXPECT_TRUE(contains(no_format.err, "missing required option --format")) << no_format.err;
  EXPECT_TRUE(entries().empty());
}

TEST_F(CliUsage, UnknownFormatListsTheValidOnes) {
  write_f32(path("in.f32"), std::vector<float>(32, 1.0f));
  const CliResult r = run({"quantize", "--format", "q4_2", "-i", "in.f32", "-o", "out.raw"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown format 'q4_2'")) << r.err;
  EXPECT_TRUE(contains(r.err, "q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k")) << r.err;
  EXPECT_FALSE(fs::exists(path("out.raw")));
}

}  // namespace
}  // namespace moejit::cli_test
