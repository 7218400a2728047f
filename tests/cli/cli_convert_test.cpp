// moejit quantize / dequant on real files: the bytes equal the library's, the round trip is
// close, --json reports the sizes, and format names are case-insensitive.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "moejit/gguf.hpp"

namespace moejit::cli_test {
namespace {

std::vector<float> wave(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * (1.0 + (i % 7) * 0.3));
  }
  return x;
}

class CliConvert : public CliTest, public ::testing::WithParamInterface<GgufBlockFormat> {};

TEST_P(CliConvert, QuantizeThenDequantMatchesTheLibrary) {
  const GgufBlockFormat f = GetParam();
  const std::string name(format_name(f));
  const auto x = wave(512);
  write_f32(path("in.f32"), x);

  CliResult r = run({"quantize", "--format", name, "--input", "in.f32", "--output", "w.raw"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  std::vector<std::uint8_t> expected_blocks(gguf_bytes(f, x.size()));
  quantize(f, x, expected_blocks);
  EXPECT_EQ(read_bytes(path("w.raw")), expected_blocks);

  r = run({"dequant", "-f", name, "-i", "w.raw", "-o", "out.f32"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<float> expected(x.size());
  dequantize(f, expected_blocks, expected);
  const auto y = read_f32(path("out.f32"));
  ASSERT_EQ(y.size(), x.size());
  double err = 0.0, ref = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint32_t>(y[i]), std::bit_cast<std::uint32_t>(expected[i])) << i;
    err += (y[i] - x[i]) * (y[i] - x[i]);
    ref += x[i] * x[i];
  }
  EXPECT_LT(std::sqrt(err / ref), 0.4) << name;  // even 2-bit blocks keep the signal's shape
  const std::vector<std::string> expected_entries{"in.f32", "out.f32", "w.raw"};
  EXPECT_EQ(entries(), expected_entries);  // no temp files left behind
}

INSTANTIATE_TEST_SUITE_P(WeightFormats, CliConvert, ::testing::ValuesIn(kWeightFormats),
                         [](const auto& info) { return std::string(format_name(info.param)); });

using CliJson = CliTest;

TEST_F(CliJson, SummaryReportsFormatBlocksAndSizes) {
  write_f32(path("in.f32"), wave(768));
  CliResult r = run({"quantize", "--format", "Q6_K", "-i", "in.f32", "-o", "w.raw", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "quantize");
  EXPECT_EQ(j["format"], "q6_k");
  EXPECT_EQ(j["blocks"], 3);
  EXPECT_EQ(j["elements"], 768);
  EXPECT_EQ(j["bytes_in"], 768 * 4);
  EXPECT_EQ(j["bytes_out"], 3 * 210);
  EXPECT_EQ(j["input"], "in.f32");
  EXPECT_EQ(j["output"], "w.raw");

  r = run({"dequant", "--format", "q6_k", "-i", "w.raw", "-o", "out.f32", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "dequant");
  EXPECT_EQ(j["blocks"], 3);
  EXPECT_EQ(j["bytes_in"], 3 * 210);
  EXPECT_EQ(j["bytes_out"], 768 * 4);
}

TEST_F(CliJson, EmptyInputGivesEmptyOutput) {
  write_bytes(path("empty.raw"), {});
  const CliResult r =
      run({"dequant", "--format", "q8_0", "-i", "empty.raw", "-o", "out.f32", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["blocks"], 0);
  EXPECT_TRUE(fs::exists(path("out.f32")));
  EXPECT_EQ(fs::file_size(path("out.f32")), 0u);
}

TEST_F(CliJson, ReplacesAnExistingOutput) {
  write_f32(path("in.f32"), wave(32));
  write_bytes(path("w.raw"), {1, 2, 3});
  const CliResult r = run({"quantize", "--format", "q8_0", "-i", "in.f32", "-o", "w.raw"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(fs::file_size(path("w.raw")), 34u);
}

}  // namespace
}  // namespace moejit::cli_test
