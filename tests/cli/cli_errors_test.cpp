// moejit quantize / dequant failures: exit status 1, a message that says what is wrong, and no
// output (nor temp file) left behind; an existing output survives a failed run untouched.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliErrors = CliTest;

TEST_F(CliErrors, DequantInputNotWholeBlocks) {
  write_bytes(path("w.raw"), std::vector<std::uint8_t>(144 * 2 + 12, 0));
  const CliResult r = run({"dequant", "--format", "q4_k", "-i", "w.raw", "-o", "out.f32"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "moejit: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "300 bytes")) << r.err;
  EXPECT_TRUE(contains(r.err, "blocks of 144 bytes")) << r.err;
  EXPECT_TRUE(contains(r.err, "12 bytes left over")) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{"w.raw"});
}

TEST_F(CliErrors, QuantizeInputNotWholeBlocks) {
  write_f32(path("in.f32"), std::vector<float>(300, 0.5f));
  const CliResult r = run({"quantize", "--format", "q3_k", "-i", "in.f32", "-o", "w.raw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "300 f32 values")) << r.err;
  EXPECT_TRUE(contains(r.err, "q3_k blocks of 256 values")) << r.err;
  EXPECT_TRUE(contains(r.err, "44 left over")) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{"in.f32"});
}

TEST_F(CliErrors, QuantizeInputNotWholeFloats) {
  write_bytes(path("in.f32"), std::vector<std::uint8_t>(130, 0));
  const CliResult r = run({"quantize", "--format", "q8_0", "-i", "in.f32", "-o", "w.raw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "130 bytes, not a whole number of 4-byte f32 values")) << r.err;
  EXPECT_FALSE(fs::exists(path("w.raw")));
}

TEST_F(CliErrors, QuantizeRejectsNonFiniteValues) {
  std::vector<float> x(32, 1.0f);
  x[17] = std::numeric_limits<float>::infinity();
  write_f32(path("in.f32"), x);
  const CliResult r = run({"quantize", "--format", "q4_0", "-i", "in.f32", "-o", "w.raw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "value 17")) << r.err;
  EXPECT_FALSE(fs::exists(path("w.raw")));
}

TEST_F(CliErrors, UnreadableInput) {
  CliResult r = run({"dequant", "--format", "q8_0", "-i", "missing.raw", "-o", "out.f32"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot read input 'missing.raw'")) << r.err;
  EXPECT_TRUE(contains(r.err, "No such file")) << r.err;
  fs::create_directory(path("adir"));
  r = run({"quantize", "--format", "q8_0", "-i", "adir", "-o", "out.raw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot read input 'adir'")) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{"adir"});
}

TEST_F(CliErrors, UnwritableOutput) {
  write_f32(path("in.f32"), std::vector<float>(32, 1.0f));
  CliResult r = run({"quantize", "--format", "q8_0", "-i", "in.f32", "-o", "no/such/dir/w.raw"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot write output 'no/such/dir/w.raw'")) << r.err;
  // A directory in the way: the rename fails, the temp file is removed, the directory stays.
  fs::create_directory(path("taken"));
  r = run({"quantize", "--format", "q8_0", "-i", "in.f32", "-o", "taken"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot write output 'taken'")) << r.err;
  EXPECT_TRUE(fs::is_directory(path("taken")));
  EXPECT_TRUE(fs::is_empty(path("taken")));
  const std::vector<std::string> expected{"in.f32", "taken"};
  EXPECT_EQ(entries(), expected);
}

TEST_F(CliErrors, FailedRunLeavesAnExistingOutputUntouched) {
  write_bytes(path("out.f32"), {'k', 'e', 'e', 'p'});
  write_bytes(path("w.raw"), std::vector<std::uint8_t>(35, 0));  // one q8_0 block and a byte
  const CliResult r = run({"dequant", "--format", "q8_0", "-i", "w.raw", "-o", "out.f32"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(read_bytes(path("out.f32")), (std::vector<std::uint8_t>{'k', 'e', 'e', 'p'}));
  const std::vector<std::string> expected{"out.f32", "w.raw"};
  EXPECT_EQ(entries(), expected);
}

}  // namespace
}  // namespace moejit::cli_test
