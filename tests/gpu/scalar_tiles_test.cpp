// ScalarGguf with pinned tiles: one to eight entries per window, one to eight columns per warp,
// two to eight warps, on ragged shapes: N not a multiple of the tile, K of one block and of many,
// windows whose entries span several experts, one hot expert, top_k 8, out-of-range ids, null
// and present top-k weights, 32- and 256-element formats. Tiles with a K segment (bk > 0) stage
// the weights through shared memory: rings of one to four segments, K within one segment, over
// several and with a partial last one, and rows whose length is not a multiple of 16 bytes
// (q2_K, q3_K and q6_K at most of these K), which take the direct path. Tiles with bm >= 16 run on
// int8 tensor cores: windows of 16 to 64 entries, K steps of 32 to 256, on every format, crowded
// experts, a partial last K step and entries in random order.
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

  // Staged tiles, each with the formats its bk is a whole number of 16-byte words of.
  struct Staged {
    TileRequest tile;
    std::vector<GgufBlockFormat> formats;
  };
  const std::vector<GgufBlockFormat> step_256 = {GgufBlockFormat::Q4_0, GgufBlockFormat::Q4_K,
                                                 GgufBlockFormat::Q8_0, GgufBlockFormat::Q5_0,
                                                 GgufBlockFormat::Q4_1, GgufBlockFormat::Q5_K};
  const std::vector<GgufBlockFormat> step_1024 = {GgufBlockFormat::Q2_K, GgufBlockFormat::Q5_1,
                                                  GgufBlockFormat::Q4_0, GgufBlockFormat::Q8_0};
  const std::vector<GgufBlockFormat> step_2048 = {GgufBlockFormat::Q6_K, GgufBlockFormat::Q3_K,
                                                  GgufBlockFormat::Q4_K, GgufBlockFormat::Q2_K,
                                                  GgufBlockFormat::Q5_1};
  const Staged staged[] = {
      {{1, 16, 1024, 8, 2}, step_1024},
      {{2, 16, 2048, 4, 3}, step_2048},
      {{4, 8, 512, 2, 1}, step_256},
      {{1, 4, 256, 2, 4}, step_256},
  };
  for (const Staged& st : staged)
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Case c = shapes[i];
      c.format = st.formats[i % st.formats.size()];
      c.tile = st.tile;
      c.prefill = c.tokens > 16;
      c.weighted = seed % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }

  // Int8 tensor-core tiles (bm >= 16), each with the formats its bk holds whole chunks of, on the
  // shapes above and on crowded ones: segments longer than a window, K not a multiple of bk, odd
  // N, and entries in random order (windows then span many experts).
  std::vector<Case> mma_shapes = shapes;
  mma_shapes.push_back(shape(150, 8, 2, 136, 1024));  // about 38 entries per expert
  mma_shapes.push_back(shape(300, 4, 1, 80, 512));    // about 75 per expert: segments > 64
  mma_shapes.push_back(shape(90, 4, 1, 77, 512));     // odd N: columns stored one by one
  Case shuffled = shape(60, 8, 2, 72, 768);
  shuffled.shuffled = true;
  mma_shapes.push_back(shuffled);
  const std::vector<GgufBlockFormat> all = {
      GgufBlockFormat::Q8_0, GgufBlockFormat::Q4_K, GgufBlockFormat::Q4_0, GgufBlockFormat::Q6_K,
      GgufBlockFormat::Q5_1, GgufBlockFormat::Q2_K, GgufBlockFormat::Q4_1, GgufBlockFormat::Q3_K,
      GgufBlockFormat::Q5_0, GgufBlockFormat::Q5_K};
  const std::vector<GgufBlockFormat> step_64 = {GgufBlockFormat::Q4_K, GgufBlockFormat::Q2_K,
                                                GgufBlockFormat::Q8_0, GgufBlockFormat::Q3_K,
                                                GgufBlockFormat::Q5_K, GgufBlockFormat::Q4_1};
  const std::vector<GgufBlockFormat> step_32 = {GgufBlockFormat::Q4_0, GgufBlockFormat::Q5_1,
                                                GgufBlockFormat::Q8_0, GgufBlockFormat::Q5_0,
                                                GgufBlockFormat::Q4_1};
  const Staged mma[] = {
      {{16, 64, 128, 4, 3}, all},    {{32, 128, 128, 4, 3}, all},   {{64, 128, 256, 8, 3}, all},
      {{32, 64, 64, 4, 4}, step_64}, {{16, 32, 32, 2, 5}, step_32},
  };
  for (const Staged& st : mma)
    for (std::size_t i = 0; i < mma_shapes.size(); ++i) {
      Case c = mma_shapes[i];
      c.format = st.formats[(i + seed) % st.formats.size()];
      c.tile = st.tile;
      c.prefill = c.tokens > 16;
      c.weighted = seed % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }
  // K of 800 (25 blocks): a partial last K step for the 32-element formats.
  for (const GgufBlockFormat f : step_32) {
    Case c = shape(70, 8, 2, 100, 800);
    c.format = f;
    c.tile = TileRequest{32, 64, 128, 4, 3};
    c.prefill = true;
    c.weighted = seed % 2 == 0;
    c.seed = seed++;
    cases.push_back(c);
  }
  // The dp4a tiles on shuffled entries too.
  for (const TileRequest& tr : {TileRequest{4, 8, 0, 2, 1}, TileRequest{2, 16, 512, 4, 2}}) {
    Case c = shuffled;
    c.format = GgufBlockFormat::Q4_K;
    c.tile = tr;
    c.prefill = true;
    c.seed = seed++;
    cases.push_back(c);
  }
  return cases;
}

using ScalarGgufTiles = PrewarmedCases<scalar_tile_cases>;

TEST_P(ScalarGgufTiles, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Tiles, ScalarGgufTiles, ::testing::ValuesIn(scalar_tile_cases()),
                         CaseName());

}  // namespace
}  // namespace moejit::gputest
