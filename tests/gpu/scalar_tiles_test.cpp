// ScalarGguf with pinned tiles: one to eight entries per window, one to eight columns per warp,
// two to eight warps, on ragged shapes: N not a multiple of the tile, K of one block and of many,
// windows whose entries span several experts, one hot expert, top_k 8, out-of-range ids, null
// and present top-k weights, 32- and 256-element formats.
#include <gtest/gtest.h>

#include <vector>

#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

Case shape(int tokens, int experts, int top_k, int n, int k) {
  return Case::of(MoeVariant::ScalarGguf, tokens, experts, top_k, n, k);
}

std::vector<Case> scalar_tile_cases() {
  std::vector<Case> shapes;
  shapes.push_back(shape(1, 16, 8, 200, 2048));  // decode: top_k 8, one entry per expert
  shapes.push_back(shape(5, 4, 2, 72, 256));     // K of one 256-element block: idle lanes
  shapes.push_back(shape(40, 8, 2, 136, 1536));  // windows spanning several experts
  Case hot = shape(24, 8, 2, 96, 768);           // every token on the same two experts
  hot.routing = RoutingKind::OneExpert;
  shapes.push_back(hot);
  Case bad = shape(9, 16, 2, 80, 512);  // out-of-range ids are skipped
  bad.invalid_entries = true;
  shapes.push_back(bad);

  const TileRequest tiles[] = {
      {1, 16, 0, 8, 1}, {2, 16, 0, 4, 1}, {4, 8, 0, 8, 1},
      {8, 16, 0, 4, 1}, {1, 4, 0, 2, 1},  {2, 32, 0, 8, 1},
  };
  const GgufBlockFormat formats[] = {GgufBlockFormat::Q4_0, GgufBlockFormat::Q4_K,
                                     GgufBlockFormat::Q8_0, GgufBlockFormat::Q6_K,
                                     GgufBlockFormat::Q5_1, GgufBlockFormat::Q2_K};
  std::vector<Case> cases;
  std::uint32_t seed = 500;
  for (std::size_t t = 0; t < std::size(tiles); ++t)
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Case c = shapes[i];
      c.format = formats[(t + i) % std::size(formats)];
      c.tile = tiles[t];
      c.prefill = c.tokens > 16;
      c.weighted = seed % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

class ScalarGgufTiles : public ::testing::TestWithParam<Case> {
 public:
  static void SetUpTestSuite() { prewarm(scalar_tile_cases()); }
};

TEST_P(ScalarGgufTiles, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Tiles, ScalarGgufTiles, ::testing::ValuesIn(scalar_tile_cases()),
                         CaseName());

}  // namespace
}  // namespace moejit::gputest
