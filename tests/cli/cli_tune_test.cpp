// moejit tune on the real binary: help, usage errors and the no-GPU message everywhere; on a GPU
// machine a tiny point tuned with two candidates, and a plan selected with the written table
// getting the winning tile.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"
#include "codegen/tile_table.hpp"
#include "moejit/moe_plan.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CliTune : public CliTest {
 protected:
  // `moejit tune --json` of the small wmma f16 point (E 8, top_k 2, N 256, K 512, 4 tokens) with
  // its first `candidates` candidates, writing `out`, `extra` options appended.
  CliResult tune_small_point(int candidates, const std::vector<std::string>& extra,
                             const std::string& out) const {
    std::vector<std::string> args = {"tune",
                                     "--shape",
                                     "8,2,256,512",
                                     "--tokens",
                                     "4",
                                     "--variant",
                                     "wmma",
                                     "--element",
                                     "f16",
                                     "--iters",
                                     "5",
                                     "--warmup",
                                     "1",
                                     "--max-candidates",
                                     std::to_string(candidates),
                                     "--out",
                                     path(out).string(),
                                     "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_clean(args, {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  }

  // The same with its first two candidates, finals set by `final_args`.
  CliResult tune_two_candidates(const std::vector<std::string>& final_args,
                                const std::string& out) const {
    return tune_small_point(2, final_args, out);
  }
};

TEST_F(CliTune, HelpListsEveryOption) {
  const CliResult r = run_clean({"tune", "--help"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* option :
       {"--preset", "--shape", "--variant", "--format", "--element", "--tokens", "--iters",
        "--warmup", "--jobs", "--max-candidates", "--final-rounds", "--final-margin",
        "--check-tokens", "--out", "--merge", "--keep-margin", "--pin", "--json"})
    EXPECT_TRUE(contains(r.out, option)) << option;
  EXPECT_TRUE(contains(r.out, "docs/tuning.md"));
  EXPECT_TRUE(contains(run_clean({"--help"}).out, "tune"));
}

TEST_F(CliTune, UsageErrorsExitWithStatus2) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"tune"},
        {"tune", "--preset", "everything"},
        {"tune", "--shape", "8,2,256"},
        {"tune", "--shape", "2,4,256,512"},
        {"tune", "--preset", "tracked", "--tokens", "0"},
        {"tune", "--preset", "tracked", "--iters", "0"},
        {"tune", "--preset", "tracked", "--final-rounds", "-1"},
        {"tune", "--preset", "tracked", "--final-margin", "-5"},
        {"tune", "--preset", "tracked", "--final-margin", "nan"},
        {"tune", "--preset", "tracked", "--keep-margin", "2"},
        {"tune", "--preset", "tracked", "--merge", "--keep-margin", "-1"},
        {"tune", "--preset", "tracked", "--merge", "--keep-margin", "100"},
        {"tune", "--preset", "tracked", "--merge", "--keep-margin", "nan"},
        {"tune", "--preset", "tracked", "--variant", "scalar_gguf", "--element", "f16"}}) {
    const CliResult r = run_clean(args);
    EXPECT_EQ(r.status, 2) << args.back() << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "moejit: error: tune: ")) << r.err;
  }
}

TEST_F(CliTune, WithoutGpuSaysSo) {
  if (driver::available()) GTEST_SKIP() << "a GPU is present: see TunesATinyPointOnTheGpu";
  const CliResult r = run_clean({"tune", "--preset", "tracked", "--out", path("t.json").string()});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "moejit: error: NoDevice: no CUDA device")) << r.err;
  EXPECT_TRUE(contains(r.err, "`moejit tune` runs kernels")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(fs::exists(path("t.json")));
}

TEST_F(CliTune, TunesATinyPointOnTheGpu) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: tune needs a GPU";
  const fs::path table_path = path("sm.json");
  const CliResult r = run_clean({"tune", "--shape", "8,2,256,512", "--tokens", "4", "--variant",
                                 "wmma", "--element", "f16", "--max-candidates", "2", "--iters",
                                 "5", "--warmup", "1", "--out", table_path.string(), "--json"},
                                {"MOEJIT_CACHE_DIR=" + path("cache").string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["points"].size(), 1u);
  const auto& point = j["points"][0];
  ASSERT_EQ(point["candidates"].size(), 2u);
  const std::string best = point["best"].get<std::string>();

  const TileTable table = TileTable::parse(slurp(table_path), table_path.string());
  ASSERT_EQ(table.entries.size(), 1u);
  EXPECT_EQ(tile_table_text(table.entries[0].tile), best);
  EXPECT_FALSE(table.stamp.pinned);
  EXPECT_EQ(table.stamp.arch, j["arch"].get<std::string>());

  MoeDescriptor d;
  d.num_tokens = 4;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 512;
  d.d_expert = 256;
  d.variant = MoeVariant::Wmma;
  d.element = ElementKind::F16;
  PlanPreference pref;
  pref.tile_table = table_path.string();
  const MoePlan plan = MoePlan::select(d, pref);
  EXPECT_TRUE(contains(plan.sku(), ":" + best)) << plan.sku() << " vs " << best;
}

// With a margin that admits both candidates, both are finalists: each gets a finals figure, and
// the winner is the one whose finals figure is lower (both pass the check on this small point).
TEST_F(CliTune, FinalistsAreRankedByTheirRounds) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: tune needs a GPU";
  const CliResult r =
      tune_two_candidates({"--final-rounds", "3", "--final-margin", "1000"}, "sm.json");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& point = j["points"][0];
  ASSERT_EQ(point["candidates"].size(), 2u);
  std::string fastest;
  double fastest_us = 0;
  for (const auto& c : point["candidates"]) {
    ASSERT_TRUE(c.contains("final_us")) << c.dump();
    const double us = c["final_us"].get<double>();
    EXPECT_GT(us, 0.0);
    if (fastest.empty() || us < fastest_us) {
      fastest = c["tile"].get<std::string>();
      fastest_us = us;
    }
  }
  EXPECT_EQ(point["best"].get<std::string>(), fastest);
  EXPECT_DOUBLE_EQ(point["best_us"].get<double>(), fastest_us);

  // With no finals, no candidate has a finals figure.
  const CliResult plain = tune_two_candidates({"--final-rounds", "0"}, "sm0.json");
  ASSERT_EQ(plain.status, 0) << plain.out << plain.err;
  for (const auto& c : nlohmann::json::parse(plain.out)["points"][0]["candidates"])
    EXPECT_FALSE(c.contains("final_us")) << c.dump();
}

// --merge --keep-margin: the tile the table holds for the point is timed even when it is not
// among the candidates, and stays unless the fastest candidate beats it by the margin.
TEST_F(CliTune, KeepMarginKeepsTheTablesTile) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: tune needs a GPU";
  const CliResult first = tune_two_candidates({"--final-rounds", "0"}, "sm.json");
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  const auto candidates = nlohmann::json::parse(first.out)["points"][0]["candidates"];
  ASSERT_EQ(candidates.size(), 2u);
  // The table names the second candidate, which a run with one candidate does not time.
  const std::string second = candidates[1]["tile"].get<std::string>();
  auto table = nlohmann::json::parse(slurp(path("sm.json")));
  table["entries"][0]["tile"] = second;
  std::ofstream(path("keep.json")) << table.dump();

  const auto tune_one = [&](const std::string& margin) {
    return tune_small_point(1, {"--final-rounds", "0", "--merge", "--keep-margin", margin},
                            "keep.json");
  };
  const CliResult kept = tune_one("99");
  ASSERT_EQ(kept.status, 0) << kept.out << kept.err;
  const auto point = nlohmann::json::parse(kept.out)["points"][0];
  ASSERT_EQ(point["candidates"].size(), 2u) << point.dump();
  EXPECT_EQ(point["incumbent"].get<std::string>(), second);
  EXPECT_EQ(point["best"].get<std::string>(), second);
  double fastest = 1e30;
  for (const auto& c : point["candidates"])
    fastest = std::min(fastest, c["median_us"].get<double>());
  // Kept when it was not the fastest; its own time goes into the table either way.
  if (point["kept"].get<bool>())
    EXPECT_GE(point["best_us"].get<double>(), fastest) << point.dump();
  else
    EXPECT_DOUBLE_EQ(point["best_us"].get<double>(), fastest) << point.dump();
  const TileTable written = TileTable::parse(slurp(path("keep.json")), "keep.json");
  ASSERT_EQ(written.entries.size(), 1u);
  EXPECT_EQ(tile_table_text(written.entries[0].tile), second);
  EXPECT_NEAR(written.entries[0].us, point["best_us"].get<double>(), 1e-3);  // 3 decimals

  // Without a margin the table's tile is not timed: only the one candidate is.
  const CliResult plain = tune_one("0");
  ASSERT_EQ(plain.status, 0) << plain.out << plain.err;
  const auto plain_point = nlohmann::json::parse(plain.out)["points"][0];
  EXPECT_EQ(plain_point["candidates"].size(), 1u);
  EXPECT_FALSE(plain_point.contains("incumbent"));
  EXPECT_FALSE(plain_point["kept"].get<bool>());
}

// A point below the largest token count of its shape is routed by its own draw, the one
// `moejit bench` makes for that count (touching the expected number of experts), not by the first
// tokens of the largest point's draw.
TEST_F(CliTune, EachTokenCountIsRoutedAsBenchRoutesIt) {
  if (!driver::available()) GTEST_SKIP() << "no CUDA device: tune needs a GPU";
  const std::vector<std::string> env = {"MOEJIT_CACHE_DIR=" + path("cache").string()};
  const CliResult r = run_clean({"tune",
                                 "--shape",
                                 "64,6,256,512",
                                 "--tokens",
                                 "3,64",
                                 "--variant",
                                 "wmma",
                                 "--element",
                                 "f16",
                                 "--max-candidates",
                                 "1",
                                 "--iters",
                                 "2",
                                 "--warmup",
                                 "1",
                                 "--final-rounds",
                                 "0",
                                 "--out",
                                 path("sm.json").string(),
                                 "--json"},
                                env);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const auto points = nlohmann::json::parse(r.out)["points"];
  ASSERT_EQ(points.size(), 2u);
  for (const auto& point : points) {
    const std::string text = point["point"].get<std::string>();
    const std::string tokens = contains(text, "T=3 ") ? "3" : "64";
    const CliResult bench = run_clean(
        {"bench", "wmma:f16", "--tokens", tokens, "--experts", "64", "--top-k", "6", "--n", "256",
         "--k", "512", "--no-weights", "--iters", "2", "--warmup", "1", "--json"},
        env);
    ASSERT_EQ(bench.status, 0) << bench.out << bench.err;
    EXPECT_EQ(point["experts_touched"].get<int>(),
              nlohmann::json::parse(bench.out)["experts_touched"].get<int>())
        << text;
  }
}

}  // namespace
}  // namespace moejit::cli_test
