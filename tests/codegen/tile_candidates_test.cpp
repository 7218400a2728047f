// candidate_tiles: every candidate is valid, the default tile is always among them, the list is
// short and deterministic, and the m-tile follows the rows per expert.
#include "codegen/tile_candidates.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "codegen/kernel_key.hpp"

namespace moejit {
namespace {

struct Shape {
  std::int64_t experts, top_k, n, k;
};

// The tracked shapes of docs/benchmarks.md: qwen3-30b-a3b and mixtral-8x7b.
constexpr Shape kShapes[] = {{128, 8, 768, 2048}, {8, 2, 14336, 4096}};
constexpr int kTokens[] = {1, 8, 32, 128, 512};

ProblemDims dims_of(int tokens, const Shape& s) {
  ProblemDims d;
  d.num_pairs = tokens * s.top_k;
  d.size_m = d.num_pairs;
  d.input_rows = d.num_pairs;
  d.num_experts = s.experts;
  d.size_n = s.n;
  d.size_k = s.k;
  return d;
}

struct Family {
  MoeVariant variant;
  std::optional<GgufBlockFormat> format;
  ElementKind element;
};

std::vector<Family> families() {
  std::vector<Family> out;
  for (GgufBlockFormat f : kWeightFormats) {
    out.push_back({MoeVariant::ScalarGguf, f, ElementKind::F32});
    for (ElementKind e : {ElementKind::F16, ElementKind::Bf16})
      out.push_back({MoeVariant::WmmaGguf, f, e});
  }
  for (ElementKind e : {ElementKind::F16, ElementKind::Bf16})
    out.push_back({MoeVariant::Wmma, std::nullopt, e});
  return out;
}

TEST(TileCandidates, ValidShortDeterministicAndHoldTheDefault) {
  for (const GpuArch arch : {GpuArch{80, false}, GpuArch{90, false}})
    for (const Family& f : families())
      for (const Shape& s : kShapes)
        for (int tokens : kTokens) {
          const ProblemDims d = dims_of(tokens, s);
          const std::vector<Tile> tiles = candidate_tiles(f.variant, f.format, f.element, arch, d);
          KernelSpec spec;
          spec.variant = f.variant;
          spec.format = f.format;
          spec.element = f.element;
          spec.arch = arch;
          SCOPED_TRACE(kernel_key_text(spec) + " tokens " + std::to_string(tokens) + " E " +
                       std::to_string(s.experts));
          EXPECT_GE(tiles.size(), 8u);
          EXPECT_LE(tiles.size(), kMaxTileCandidates);
          for (const Tile& t : tiles) {
            spec.tile = t;
            EXPECT_EQ(tile_error(spec), std::nullopt) << kernel_key_text(spec);
            EXPECT_EQ(std::count(tiles.begin(), tiles.end(), t), 1) << kernel_key_text(spec);
          }
          for (bool prefill : {false, true}) {
            const Tile def = default_tile(f.variant, f.format, f.element, arch, d, prefill);
            EXPECT_NE(std::find(tiles.begin(), tiles.end(), def), tiles.end())
                << "default tile missing (prefill " << prefill << ")";
          }
          EXPECT_EQ(tiles, candidate_tiles(f.variant, f.format, f.element, arch, d));
        }
}

TEST(TileCandidates, RegisterWeightTilesOnSm90a) {
  const GpuArch h100{90, true};
  const auto count_rw = [](const std::vector<Tile>& tiles, int bm) {
    return std::count_if(tiles.begin(), tiles.end(),
                         [&](const Tile& t) { return t.reg_weights && t.bm == bm; });
  };
  // 32 rows per expert (mixtral at 128 tokens): m-tiles of up to 64 entries (three, and the
  // table's rw tile at a neighbouring depth).
  const ProblemDims mid = dims_of(128, kShapes[1]);
  EXPECT_GE(count_rw(candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0, ElementKind::Bf16,
                                     h100, mid),
                     64),
            3);
  // 128 rows per expert (mixtral at 512 tokens): m-tiles of up to 160 entries, one of them on
  // three warpgroups (192 weight rows).
  const std::vector<Tile> prefill =
      candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0, ElementKind::Bf16, h100,
                      dims_of(512, kShapes[1]));
  EXPECT_GE(count_rw(prefill, 160), 4);
  EXPECT_NE(std::find(prefill.begin(), prefill.end(), Tile{160, 192, 64, 12, 4, true}),
            prefill.end());
  // The other formats of 32-element blocks, q4_K and q6_K have them too.
  for (const GgufBlockFormat f :
       {GgufBlockFormat::Q4_0, GgufBlockFormat::Q4_1, GgufBlockFormat::Q5_0, GgufBlockFormat::Q5_1,
        GgufBlockFormat::Q4_K, GgufBlockFormat::Q6_K})
    EXPECT_GE(count_rw(candidate_tiles(MoeVariant::WmmaGguf, f, ElementKind::Bf16, h100, mid), 64),
              3)
        << format_name(f);
  // Other formats and the portable target have none.
  for (const auto& tiles :
       {candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q5_K, ElementKind::Bf16, h100, mid),
        candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0, ElementKind::Bf16,
                        GpuArch{90, false}, mid)})
    for (const Tile& t : tiles) EXPECT_FALSE(t.reg_weights) << tile_text(t);
}

// The first default tile is also offered one stage deeper and one shallower, where valid.
TEST(TileCandidates, FirstDefaultTileAtItsNeighbouringDepths) {
  const GpuArch h100{90, true};
  for (const GgufBlockFormat f : {GgufBlockFormat::Q8_0, GgufBlockFormat::Q4_K}) {
    const ProblemDims d = dims_of(512, kShapes[1]);
    const std::vector<Tile> tiles =
        candidate_tiles(MoeVariant::WmmaGguf, f, ElementKind::Bf16, h100, d);
    ASSERT_FALSE(tiles.empty());
    const Tile first = tiles.front();
    SCOPED_TRACE(tile_text(first));
    ASSERT_GE(first.stages, 3);
    KernelSpec spec;
    spec.variant = MoeVariant::WmmaGguf;
    spec.format = f;
    spec.element = ElementKind::Bf16;
    spec.arch = h100;
    for (const int delta : {1, -1}) {
      Tile t = first;
      t.stages += delta;
      spec.tile = t;
      const bool offered = std::find(tiles.begin(), tiles.end(), t) != tiles.end();
      EXPECT_EQ(offered, !tile_error(spec).has_value()) << tile_text(t);
    }
  }
  // The table's 192x128x64:w12 at mixtral's 512 tokens is also offered one stage deeper.
  const std::vector<Tile> q8 = candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0,
                                               ElementKind::Bf16, h100, dims_of(512, kShapes[1]));
  Tile deeper = q8.front();
  deeper.stages += 1;
  EXPECT_NE(std::find(q8.begin(), q8.end(), deeper), q8.end());
}

TEST(TileCandidates, FollowTheRowsPerExpert) {
  const GpuArch h100{90, false};
  // Decode on qwen3 (1 row per expert): no tall m-tiles.
  for (const Tile& t : candidate_tiles(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, h100,
                                       dims_of(1, kShapes[0])))
    EXPECT_LE(t.bm, 32);
  // Prefill on mixtral (128 rows per expert): tall m-tiles are offered.
  const auto tall = candidate_tiles(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                                    h100, dims_of(512, kShapes[1]));
  EXPECT_TRUE(std::any_of(tall.begin(), tall.end(), [](const Tile& t) { return t.bm >= 64; }));
  // K steps of k-quants are 64..256; wmma_gguf keeps at least 3 stages.
  for (const Tile& t : tall) {
    EXPECT_GE(t.bk, 64);
    EXPECT_GE(t.stages, 3);
  }
  // Dense decode steps (qwen3 at 1 token, mixtral at 1 token) offer several decode-kernel tiles
  // (1 stage); mixtral at 32 tokens (8 entries per expert) offers none.
  const auto decode_count = [](const std::vector<Tile>& tiles) {
    return std::count_if(tiles.begin(), tiles.end(), [](const Tile& t) { return t.stages == 1; });
  };
  for (const Shape& s : kShapes)
    EXPECT_GE(decode_count(candidate_tiles(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16,
                                           GpuArch{90, true}, dims_of(1, s))),
              3);
  EXPECT_EQ(decode_count(candidate_tiles(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16,
                                         GpuArch{90, true}, dims_of(32, kShapes[1]))),
            0);
  // scalar_gguf: bm at most 8; direct tiles (bk 0, one stage) first, then staged twins of the
  // leading shapes (K segments of 32 chunks, two in flight when K holds two).
  const std::vector<Tile> scalar = candidate_tiles(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0,
                                                   ElementKind::F32, h100, dims_of(8, kShapes[0]));
  int staged = 0;
  for (const Tile& t : scalar) {
    EXPECT_LE(t.bm, 8);
    if (t.bk == 0) {
      EXPECT_EQ(t.stages, 1);
      EXPECT_EQ(staged, 0) << "a direct tile after a staged one";
    } else {
      ++staged;
      EXPECT_EQ(t.bk, 1024);
      EXPECT_EQ(t.stages, 2);
      const Tile direct{t.bm, t.bn, 0, t.warps, 1};
      EXPECT_NE(std::find(scalar.begin(), scalar.end(), direct), scalar.end());
    }
  }
  EXPECT_GE(staged, 1);
  // q6_K at K = 2048: one segment of 8 blocks.
  for (const Tile& t : candidate_tiles(MoeVariant::ScalarGguf, GgufBlockFormat::Q6_K,
                                       ElementKind::F32, h100, dims_of(1, kShapes[0])))
    if (t.bk != 0) {
      EXPECT_EQ(t.bk, 2048);
      EXPECT_EQ(t.stages, 1);
    }
}

}  // namespace
}  // namespace moejit
