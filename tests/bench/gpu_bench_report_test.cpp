// The GPU benchmark's report, on made-up results (no GPU): the warm column, the JSON field and
// the standing against the peers, timed cold and like for like.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/gpu/report.hpp"

namespace moejit::gpubench {
namespace {

const Shape& qwen3() { return kShapes[0]; }
const Shape& mixtral() { return kShapes[1]; }

PointResult point(const Shape& shape, MoeVariant variant, std::optional<GgufBlockFormat> format,
                  ElementKind element, int tokens, double us, double warm_us) {
  PointResult p;
  p.shape = shape;
  p.kernel.variant = variant;
  p.kernel.format = format;
  p.kernel.element = element;
  p.tokens = tokens;
  p.sku = "x";
  p.sets = warm_us > 0 ? 30 : 1;
  p.median_us = p.min_us = p.mean_us = us;
  p.alone_us = us + 1;
  p.warm_us = warm_us;
  p.bytes = 1e6;
  p.flops = 1e6;
  p.floor_us = 1;
  p.peer = best_peer(shape, format, element, tokens);
  return p;
}

// qwen3 q4_0 at 1 token: slower than ggml's 7.5 µs cold, faster warm (ScalarGguf), with a slower
// WmmaGguf kernel beside it; qwen3 q4_k at 1 token: faster either way, no warm figure; mixtral
// bf16 at 8 tokens: slower than ggml's 264 µs, operands too large for L2; f16: no peer.
Report sample() {
  Report r;
  r.device = "test device";
  r.date = "2026-11-23 00:00";
  r.command = "moejit_gpu_bench";
  r.l2_bytes = 50u << 20;
  r.iters = 200;
  r.warmup = 20;
  r.points.push_back(
      point(qwen3(), MoeVariant::ScalarGguf, GgufBlockFormat::Q4_0, ElementKind::F32, 1, 7.8, 5.6));
  r.points.push_back(point(qwen3(), MoeVariant::WmmaGguf, GgufBlockFormat::Q4_0, ElementKind::Bf16,
                           1, 30.0, 28.0));
  r.points.push_back(
      point(qwen3(), MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32, 1, 8.0, 0));
  r.points.push_back(
      point(mixtral(), MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, 8, 274.1, 0));
  r.points.push_back(
      point(mixtral(), MoeVariant::Wmma, std::nullopt, ElementKind::F16, 8, 274.0, 0));
  return r;
}

TEST(GpuBenchReport, StandingCountsColdAndLikeForLike) {
  std::ostringstream out;
  write_summary(out, sample());
  const std::string text = out.str();
  EXPECT_NE(text.find("Timed as in the tables (operands rotated out of L2): 1 of 3 points faster "
                      "than the best peer; slower: qwen3-30b-a3b q4_0 T=1 7.80 (1.040x); "
                      "mixtral-8x7b bf16 T=8 274.1 (1.038x)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("as the peers ran: warm µs): 2 of 3 points faster than the best peer; "
                      "slower: mixtral-8x7b bf16 T=8 274.1 (1.038x)\n"),
            std::string::npos)
      << text;
}

TEST(GpuBenchReport, EveryPointFasterSaysSoWithoutAList) {
  Report r = sample();
  r.points.resize(3);  // the qwen3 points only
  r.points[0].median_us = 7.4;
  std::ostringstream out;
  write_text(out, r);
  const std::string text = out.str();
  EXPECT_NE(text.find("(operands rotated out of L2): 2 of 2 points faster than the best peer\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("slower:"), std::string::npos) << text;
}

TEST(GpuBenchReport, MarkdownShowsTheWarmColumnAndTheStanding) {
  std::ostringstream out;
  write_markdown(out, sample());
  const std::string md = out.str();
  EXPECT_NE(md.find("| µs | alone µs | warm µs | GB/s |"), std::string::npos) << md;
  // The ScalarGguf q4_0 row (30 sets): 7.80 back to back, 8.80 alone, 5.60 warm; q4_k (one set)
  // has no warm figure.
  EXPECT_NE(md.find("| 1 | x | 30 | 7.80 | 8.80 | 5.60 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | x | 1 | 8.00 | 9.00 | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("### Against the peers\n\n- Timed as in the tables"), std::string::npos) << md;
}

TEST(GpuBenchReport, JsonCarriesTheWarmMedianWhereThereIsOne) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "moejit_gpu_bench_report_test.json";
  write_json(path.string(), sample());
  std::ifstream in(path);
  const nlohmann::json doc = nlohmann::json::parse(in);
  std::filesystem::remove(path);
  const nlohmann::json& points = doc.at("points");
  ASSERT_EQ(points.size(), 5u);
  EXPECT_DOUBLE_EQ(points[0].at("warm_median_us").get<double>(), 5.6);
  EXPECT_DOUBLE_EQ(points[0].at("median_us").get<double>(), 7.8);
  EXPECT_FALSE(points[2].contains("warm_median_us"));
  EXPECT_FALSE(points[3].contains("warm_median_us"));
}

}  // namespace
}  // namespace moejit::gpubench
