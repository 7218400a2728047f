// The Wmma decode kernel (tiles of 1 stage, templates/wmma_decode.cuh) with pinned tiles on
// ragged shapes: N not a multiple of the tile (and odd), K not a multiple of the K block
// (zero-filled tails) and of one step only (idle K slices), one entry per expert (entry mapping,
// early weight loads) and several m-tiles per expert (tile mapping), one hot expert, top_k 8,
// out-of-range ids, null and present top-k weights, f16 and bf16.
#include <gtest/gtest.h>

#include <vector>

#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

Case shape(int tokens, int experts, int top_k, int n, int k) {
  return Case::of(MoeVariant::Wmma, tokens, experts, top_k, n, k);
}

std::vector<Case> decode_cases() {
  std::vector<Case> shapes;
  shapes.push_back(shape(1, 16, 8, 200, 2048));  // one entry per expert
  shapes.push_back(shape(3, 4, 2, 72, 328));     // K: 10 steps of 32 and a tail of 8
  shapes.push_back(shape(2, 8, 2, 40, 32));      // K of one step: idle slices
  shapes.push_back(shape(3, 4, 1, 45, 264));     // odd N, an odd count of outputs
  shapes.push_back(shape(40, 4, 2, 136, 512));   // 20 entries per expert: several m-tiles
  Case hot = shape(24, 8, 2, 96, 256);           // every token on the same two experts
  hot.routing = RoutingKind::OneExpert;
  shapes.push_back(hot);
  Case bad = shape(9, 16, 2, 80, 256);  // out-of-range ids are skipped
  bad.invalid_entries = true;
  shapes.push_back(bad);

  // BMxBNxBK:warps (stages 1); 8x16x128:w8 is the 8-slice default of long rows.
  const TileRequest tiles[] = {
      {8, 32, 128, 4, 1}, {8, 16, 64, 1, 1}, {16, 32, 64, 8, 1}, {8, 64, 128, 4, 1},
      {16, 16, 32, 2, 1}, {8, 48, 96, 6, 1}, {8, 16, 128, 8, 1},
  };
  std::vector<Case> cases;
  std::uint32_t seed = 700;
  for (const TileRequest& tile : tiles)
    for (const Case& s : shapes) {
      Case c = s;
      c.tile = tile;
      c.prefill = c.tokens > 16;
      c.element = seed % 2 == 0 ? ElementKind::Bf16 : ElementKind::F16;
      c.weighted = (seed / 2) % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

using WmmaDecodeTiles = PrewarmedCases<decode_cases>;

TEST_P(WmmaDecodeTiles, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  EXPECT_NE(r.sku.find(":s1"), std::string::npos) << r.sku;
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Tiles, WmmaDecodeTiles, ::testing::ValuesIn(decode_cases()), CaseName());

}  // namespace
}  // namespace moejit::gputest
