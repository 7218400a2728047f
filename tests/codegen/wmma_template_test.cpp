// The Wmma / WmmaGguf codegen half: launch plans that cover every m-tile and n-tile, grid limits,
// workspace layout, shared-memory formula, tile rules and their messages, default tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <vector>

#include "codegen/arch_limits.hpp"
#include "codegen/variant_templates.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

namespace wc = wmma_codegen;

KernelSpec wmma_spec(Tile tile, ElementKind element = ElementKind::Bf16, int sm = 90) {
  KernelSpec s;
  s.variant = MoeVariant::Wmma;
  s.element = element;
  s.tile = tile;
  s.arch = GpuArch{sm, false};
  return s;
}

KernelSpec gguf_spec(GgufBlockFormat f, Tile tile, ElementKind element = ElementKind::F16,
                     int sm = 90) {
  KernelSpec s = wmma_spec(tile, element, sm);
  s.variant = MoeVariant::WmmaGguf;
  s.format = f;
  return s;
}

ProblemDims dims_of(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t e) {
  return ProblemDims{m, n, k, e, m, m};
}

// The device side of the launch: offsets as expert_offsets_kernel writes them, and the m-tile of
// each grid slot as moejit::tc::map_m_tile (templates/tc/tile_map.cuh) computes it.
std::vector<int> offsets_of(const std::vector<int>& ids, int experts) {
  std::vector<int> off(experts + 1);
  for (int e = 0; e <= experts; ++e)
    off[e] = static_cast<int>(std::lower_bound(ids.begin(), ids.end(), e) - ids.begin());
  return off;
}

struct MTile {
  int begin = 0, end = 0, expert = -1;
};

int m_tile_height(int count, int bm) {
  const int tiles = (count + bm - 1) / bm;
  const int height = (count + tiles - 1) / tiles;
  return (height + 15) / 16 * 16;
}

MTile map_m_tile(const std::vector<int>& ids, const std::vector<int>& off, int experts, int bm,
                 long long slot) {
  const int m = static_cast<int>(ids.size());
  MTile t;
  if (m <= 0) return t;
  if (m <= experts + m / bm) {
    if (slot >= m) return t;
    const int i = static_cast<int>(slot);
    const int e = ids[i];
    if (e < 0 || e >= experts) return t;
    const int seg_end = std::min(off[e + 1], m);
    if (i < off[e] || i >= seg_end) return t;
    const int height = m_tile_height(seg_end - off[e], bm);
    if ((i - off[e]) % height != 0) return t;
    return MTile{i, std::min(i + height, seg_end), e};
  }
  int lo = -1, hi = experts - 1;
  while (lo < hi) {
    const int mid = hi - (hi - lo) / 2;
    if (static_cast<long long>(mid) + off[mid] / bm <= slot)
      lo = mid;
    else
      hi = mid - 1;
  }
  if (lo < 0) return t;
  const int seg_end = std::min(off[lo + 1], m);
  const int count = seg_end - off[lo];
  const long long index = slot - (static_cast<long long>(lo) + off[lo] / bm);
  if (count <= 0 || index >= (count + bm - 1) / bm) return t;
  const int height = m_tile_height(count, bm);
  const long long begin = off[lo] + index * height;
  if (begin >= seg_end) return t;
  return MTile{static_cast<int>(begin),
               static_cast<int>(std::min<long long>(begin + height, seg_end)), lo};
}

// Sorted expert ids with `invalid` entries below 0 and above E - 1, skewed segment sizes.
std::vector<int> sorted_ids(int m, int experts, int invalid, std::mt19937& rng) {
  std::vector<int> ids;
  std::uniform_int_distribution<int> any(0, experts - 1);
  for (int i = 0; i < m; ++i) ids.push_back(rng() % 4 == 0 ? 0 : any(rng));
  for (int i = 0; i < invalid; ++i) {
    ids.push_back(-1 - i);
    ids.push_back(experts + i);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Every entry of every valid segment is covered by exactly one slot's tile, tiles hold at most BM
// entries of one expert, the tiles of a segment have equal heights (but the last), and invalid
// entries are never covered.
void expect_slots_cover_entries(const std::vector<int>& ids, int experts, const KernelSpec& spec) {
  const int m = static_cast<int>(ids.size());
  const auto plan = wc::launch_plan(spec, dims_of(m, 64, 64, experts));
  ASSERT_EQ(plan.size(), 2u);
  const std::vector<int> off = offsets_of(ids, experts);
  std::vector<int> covered(m, 0);
  for (long long s = 0; s < plan[1].dims.grid[0]; ++s) {
    const MTile t = map_m_tile(ids, off, experts, spec.tile.bm, s);
    if (t.expert < 0) continue;
    ASSERT_LE(t.end - t.begin, spec.tile.bm);
    const int count = std::min(off[t.expert + 1], m) - off[t.expert];
    const int tiles = (count + spec.tile.bm - 1) / spec.tile.bm;
    if (t.end < std::min(off[t.expert + 1], m)) {
      ASSERT_EQ(t.end - t.begin, m_tile_height(count, spec.tile.bm));
      ASSERT_LT(t.end - t.begin, (count + tiles - 1) / tiles + 16);
    }
    for (int i = t.begin; i < t.end; ++i) {
      ASSERT_EQ(ids[i], t.expert) << "slot " << s;
      ++covered[i];
    }
  }
  for (int i = 0; i < m; ++i)
    EXPECT_EQ(covered[i], ids[i] >= 0 && ids[i] < experts ? 1 : 0) << "entry " << i;
}

// On sm_90+ both steps launch programmatically: the offsets kernel also after the caller's
// kernels (it waits before reading), the main kernel only after it. Below sm_90 neither does.
TEST(WmmaLaunchPlan, StepsLaunchProgrammaticallyOnSm90) {
  for (const KernelSpec& spec : {wmma_spec(Tile{64, 64, 32, 4, 3}),
                                 gguf_spec(GgufBlockFormat::Q4_K, Tile{16, 64, 128, 4, 3})}) {
    const auto hopper = wc::launch_plan(spec, dims_of(16, 768, 2048, 128));
    ASSERT_EQ(hopper.size(), 2u);
    EXPECT_TRUE(hopper[0].programmatic && hopper[0].waits_first);
    EXPECT_TRUE(hopper[1].programmatic);
    EXPECT_FALSE(hopper[1].waits_first);
    KernelSpec ampere = spec;
    ampere.arch = GpuArch{80, false};
    const auto plan = wc::launch_plan(ampere, dims_of(16, 768, 2048, 128));
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_FALSE(plan[0].programmatic || plan[1].programmatic);
  }
}

TEST(WmmaLaunchPlan, SlotsCoverEveryMTileWithTileMapping) {
  std::mt19937 rng(7);
  for (int bm : {16, 32, 64, 128})
    for (int experts : {1, 3, 8, 128}) {
      const auto ids = sorted_ids(3000, experts, 3, rng);
      expect_slots_cover_entries(ids, experts, wmma_spec(Tile{bm, 64, 32, 4, 3}));
    }
}

TEST(WmmaLaunchPlan, SlotsCoverEveryEntryWithEntryMapping) {
  std::mt19937 rng(11);
  // Few entries over many experts: one slot per entry.
  for (int m : {1, 5, 12, 64}) {
    const auto ids = sorted_ids(m, 4096, 1, rng);
    const KernelSpec spec = wmma_spec(Tile{16, 128, 64, 4, 4});
    EXPECT_EQ(wc::launch_plan(spec, dims_of(ids.size(), 64, 64, 4096))[1].dims.grid[0], ids.size());
    expect_slots_cover_entries(ids, 4096, spec);
  }
}

TEST(WmmaLaunchPlan, EveryNTileIsLaunched) {
  for (std::int64_t n : {1, 15, 16, 17, 200, 14336}) {
    const KernelSpec spec = wmma_spec(Tile{16, 16, 32, 1, 2});
    const auto step = wc::launch_plan(spec, dims_of(8, n, 64, 4))[1];
    const std::int64_t tiles = (n + 15) / 16;
    EXPECT_GE(std::int64_t{step.dims.grid[1]} * step.dims.grid[2], tiles);
    EXPECT_LT(std::int64_t{step.dims.grid[1]} * (step.dims.grid[2] - 1), tiles);
  }
  // Past 65535 n-tiles the grid continues in z.
  const auto big =
      wc::launch_plan(wmma_spec(Tile{16, 16, 32, 1, 2}), dims_of(8, 65536 * 16, 64, 4));
  EXPECT_EQ(big[1].dims.grid[1], 65535u);
  EXPECT_EQ(big[1].dims.grid[2], 2u);
}

TEST(WmmaLaunchPlan, OffsetsKernelFirstThenMain) {
  const KernelSpec spec = gguf_spec(GgufBlockFormat::Q4_K, Tile{64, 64, 128, 4, 3});
  const auto plan = wc::launch_plan(spec, dims_of(1024, 768, 2048, 128));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].name_expression, "&moejit::expert_offsets_kernel");
  EXPECT_EQ(plan[0].dims.block[0], 256u);
  EXPECT_EQ(plan[0].dims.shared_bytes, 0u);
  EXPECT_GE(std::int64_t{plan[0].dims.grid[0]} * 256, 129);
  // Two B tiles (no trailing 1): 107,520 bytes, and 90,112 with one, fit two CTAs per
  // multiprocessor either way.
  EXPECT_EQ(plan[1].name_expression,
            "&moejit::wmma_gguf_kernel<moejit::fmt::Q4_K, __half, 64, 64, 128, 4, 3>");
  EXPECT_EQ(plan[1].dims.block[0], 128u);
  EXPECT_EQ(plan[1].dims.shared_bytes, wc::shared_bytes(spec));
  EXPECT_EQ(plan[1].dims.grid[1], 12u);
}

TEST(WmmaLaunchPlan, GridLimitsAtLargestProblems) {
  for (int bm : {16, 64, 128}) {
    const KernelSpec spec = wmma_spec(Tile{bm, 128, 32, 4, 3});
    const auto plan = wc::launch_plan(spec, dims_of(1048576, 14336, 4096, 4096));
    EXPECT_GE(std::int64_t{plan[0].dims.grid[0]} * plan[0].dims.block[0], 4097);
    // Tile mapping: E + M / BM slots, all on x (which allows 2^31 - 1).
    EXPECT_EQ(plan[1].dims.grid[0], 4096u + 1048576u / bm);
    EXPECT_LE(plan[1].dims.grid[1], 65535u);
    EXPECT_LE(plan[1].dims.grid[2], 65535u);
    EXPECT_EQ(plan[1].dims.grid[1], 14336u / 128);
  }
  // No entries: one slot that exits.
  EXPECT_EQ(
      wc::launch_plan(wmma_spec(Tile{64, 64, 32, 4, 3}), dims_of(0, 64, 64, 8))[1].dims.grid[0],
      1u);
}

TEST(WmmaLaunchPlan, RejectsProblemsTheKernelCannotRun) {
  const KernelSpec dense = wmma_spec(Tile{64, 64, 32, 4, 3});
  EXPECT_THROW(wc::launch_plan(dense, dims_of(8, 64, 100, 4)), Error);  // K % 8
  const KernelSpec q4k = gguf_spec(GgufBlockFormat::Q4_K, Tile{64, 64, 64, 4, 3});
  try {
    wc::launch_plan(q4k, dims_of(8, 64, 128, 4));
    FAIL() << "K not a multiple of 256 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("multiple of 256"), std::string::npos) << e.what();
  }
  KernelSpec fixed = dense;
  fixed.const_k = 4096;
  EXPECT_THROW(wc::launch_plan(fixed, dims_of(8, 64, 2048, 4)), Error);
  EXPECT_NO_THROW(wc::launch_plan(fixed, dims_of(8, 64, 4096, 4)));
  EXPECT_THROW(wc::launch_plan(dense, dims_of(-1, 64, 64, 4)), Error);
  EXPECT_THROW(wc::launch_plan(dense, dims_of(8, 64, 64, 0)), Error);
  EXPECT_THROW(wc::launch_plan(wmma_spec(Tile{24, 64, 32, 4, 3}), dims_of(8, 64, 64, 4)), Error);
}

TEST(WmmaWorkspace, OffsetsOnlyAligned) {
  for (std::int64_t e : {1, 8, 63, 64, 128, 4096}) {
    const auto w = wc::workspace_layout(wmma_spec(Tile{64, 64, 32, 4, 3}), dims_of(100, 64, 64, e));
    EXPECT_EQ(w.offsets_offset, 0u);
    EXPECT_EQ(w.offsets_bytes, static_cast<std::size_t>(4 * (e + 1)));
    EXPECT_EQ(w.q8_bytes, 0u);
    EXPECT_EQ(w.total % 256, 0u);
    EXPECT_GE(w.total, w.offsets_bytes);
    EXPECT_LT(w.total, w.offsets_bytes + 256);
  }
  EXPECT_THROW(wc::workspace_layout(wmma_spec(Tile{64, 64, 32, 4, 3}), dims_of(1, 64, 64, 0)),
               Error);
}

TEST(WmmaSharedBytes, MatchesTheTemplateLayout) {
  // Wmma: stages x (BM + BN) x (BK + 8) x 2 bytes.
  EXPECT_EQ(wc::shared_bytes(wmma_spec(Tile{64, 64, 32, 4, 3})), 3u * 128 * 40 * 2);
  EXPECT_EQ(wc::shared_bytes(wmma_spec(Tile{128, 128, 32, 8, 4})), 81920u);
  // WmmaGguf: A stages + raw slots (16-byte chunks of the step's blocks, misaligned start;
  // (stages - 3) / P + 2 slots, P = K steps per block) + one or two B tiles.
  // q8_0, BK 64: 2 blocks = 68 bytes -> 6 chunks = 96 bytes per row, 2 slots. Two B tiles (58,368
  // bytes) fit 3 CTAs in an H100 multiprocessor's 228 KiB, one B tile (49,152) fits 4: one.
  EXPECT_EQ(wc::shared_bytes(gguf_spec(GgufBlockFormat::Q8_0, Tile{64, 64, 64, 4, 3})),
            3u * 64 * 72 * 2 + 2u * 64 * 96 + 1u * 64 * 72 * 2);
  // q4_k 16x64x64 (P = 4, 2 slots): 45,824 bytes with two B tiles (4 CTAs) and 36,608 with one
  // (6 CTAs): one.
  EXPECT_EQ(wc::shared_bytes(gguf_spec(GgufBlockFormat::Q4_K, Tile{16, 64, 64, 4, 3})),
            3u * 16 * 72 * 2 + 2u * 64 * 160 + 1u * 64 * 72 * 2);
  // q6_k, BK 128 (< 256): one 210-byte super-block -> 15 chunks = 240 bytes per row, 2 slots;
  // 144,128 bytes with two B tiles (1 CTA), 109,312 with one (2 CTAs): one.
  EXPECT_EQ(wc::shared_bytes(gguf_spec(GgufBlockFormat::Q6_K, Tile{16, 128, 128, 4, 3})),
            3u * 16 * 136 * 2 + 2u * 128 * 240 + 1u * 128 * 136 * 2);
}

std::string error_of(const KernelSpec& spec) { return wc::tile_error(spec).value_or(""); }

TEST(WmmaTileError, NamesTheBrokenLimit) {
  EXPECT_EQ(wc::tile_error(wmma_spec(Tile{64, 64, 32, 4, 3})), std::nullopt);
  EXPECT_NE(error_of(wmma_spec(Tile{24, 64, 32, 4, 3})).find("BM=24"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{64, 40, 32, 4, 3})).find("BN=40"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{64, 64, 24, 4, 3})).find("multiple of 16"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{64, 64, 32, 33, 3})).find("warps=33"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{64, 64, 32, 4, 1})).find("BM must be 8 or 16"),
            std::string::npos);
  EXPECT_NE(error_of(gguf_spec(GgufBlockFormat::Q8_0, Tile{16, 64, 64, 4, 1})).find("stages=1"),
            std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{16, 16, 32, 4, 3})).find("no warp layout"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{256, 256, 32, 1, 2})).find("accumulators"), std::string::npos);
  // 128x128x128, 4 stages: 270336 bytes, over every architecture's limit.
  const std::string smem = error_of(wmma_spec(Tile{128, 128, 128, 8, 4}, ElementKind::Bf16, 86));
  EXPECT_NE(smem.find("shared memory"), std::string::npos) << smem;
  EXPECT_NE(smem.find("sm_86"), std::string::npos) << smem;
  // GGUF: BK a multiple of 32, dividing or a multiple of the super-block.
  EXPECT_NE(
      error_of(gguf_spec(GgufBlockFormat::Q8_0, Tile{64, 64, 16, 4, 3})).find("multiple of 32"),
      std::string::npos);
  EXPECT_NE(error_of(gguf_spec(GgufBlockFormat::Q4_K, Tile{64, 64, 96, 4, 3})).find("256"),
            std::string::npos);
  EXPECT_EQ(wc::tile_error(gguf_spec(GgufBlockFormat::Q4_K, Tile{32, 32, 512, 2, 3})),
            std::nullopt);
  EXPECT_EQ(wc::tile_error(gguf_spec(GgufBlockFormat::Q4_0, Tile{32, 64, 96, 4, 3})), std::nullopt);
  // Dequantization one step ahead needs a third ring stage.
  EXPECT_NE(error_of(gguf_spec(GgufBlockFormat::Q8_0, Tile{64, 64, 64, 4, 2})).find("at least 3"),
            std::string::npos);
  // Element and format rules.
  KernelSpec f32 = wmma_spec(Tile{64, 64, 32, 4, 3}, ElementKind::F32);
  EXPECT_NE(error_of(f32).find("f16 or bf16"), std::string::npos);
  KernelSpec no_format = gguf_spec(GgufBlockFormat::Q4_0, Tile{64, 64, 32, 4, 3});
  no_format.format.reset();
  EXPECT_NE(error_of(no_format).find("format"), std::string::npos);
  KernelSpec q81 = gguf_spec(GgufBlockFormat::Q8_1, Tile{64, 64, 32, 4, 3});
  EXPECT_NE(error_of(q81).find("weight format"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{64, 64, 32, 4, 3}, ElementKind::Bf16, 75)).find("sm_80"),
            std::string::npos);
}

TEST(WmmaKernelTemplate, IncludesNamesAndSharedMemoryAssert) {
  const KernelSpec dense = wmma_spec(Tile{64, 64, 32, 4, 3});
  const KernelTemplate t = wc::kernel_template(dense);
  EXPECT_EQ(t.includes,
            (std::vector<std::string>{"moe_params.cuh", "expert_offsets.cuh", "wmma.cuh"}));
  EXPECT_EQ(t.name_expressions,
            (std::vector<std::string>{"&moejit::wmma_kernel<__nv_bfloat16, 64, 64, 32, 4, 3>",
                                      "&moejit::expert_offsets_kernel"}));
  EXPECT_EQ(t.static_asserts, (std::vector<std::string>{
                                  "moejit::WmmaTraits<__nv_bfloat16, 64, 64, 32, 4, 3>::kSmemBytes "
                                  "== 30720"}));

  KernelSpec gguf = gguf_spec(GgufBlockFormat::Q5_K, Tile{16, 128, 128, 4, 3});
  gguf.const_n = 768;
  gguf.const_k = 2048;
  const KernelTemplate g = wc::kernel_template(gguf);
  EXPECT_EQ(g.includes.back(), "wmma_gguf.cuh");
  EXPECT_EQ(
      g.name_expressions.front(),
      "&moejit::wmma_gguf_kernel<moejit::fmt::Q5_K, __half, 16, 128, 128, 4, 3, 768, 2048, 1>");
  EXPECT_EQ(
      g.static_asserts.front(),
      "moejit::WmmaGgufTraits<moejit::fmt::Q5_K, __half, 16, 128, 128, 4, 3, 1>::kSmemBytes == " +
          std::to_string(wc::shared_bytes(gguf)));
  EXPECT_THROW(wc::kernel_template(wmma_spec(Tile{64, 64, 32, 4, 1})), Error);
}

TEST(WmmaDecodeTiles, OneStageRunsTheRegisterKernel) {
  // 8 entries x 32 rows, 4 warps: 2 row groups of 2 K slices; slice 1 of each hands
  // 32 lanes x 4 accumulators to slice 0.
  KernelSpec spec = wmma_spec(Tile{8, 32, 128, 4, 1});
  spec.const_n = 768;
  spec.const_k = 2048;
  EXPECT_TRUE(wc::uses_decode(spec));
  EXPECT_FALSE(wc::uses_wgmma(spec));
  EXPECT_EQ(wc::tile_error(spec), std::nullopt);
  EXPECT_EQ(wc::shared_bytes(spec), 2u * 32 * 4 * 4);
  const KernelTemplate t = wc::kernel_template(spec);
  EXPECT_EQ(t.includes,
            (std::vector<std::string>{"moe_params.cuh", "expert_offsets.cuh", "wmma_decode.cuh"}));
  EXPECT_EQ(t.name_expressions.front(),
            "&moejit::wmma_decode_kernel<__nv_bfloat16, 8, 32, 128, 4, 768, 2048>");
  EXPECT_EQ(t.static_asserts.front(),
            "moejit::WmmaDecodeTraits<__nv_bfloat16, 8, 32, 128, 4>::kSmemBytes == 1024");
  // One slice per row group: no shared memory. Two column groups: twice the partial sums.
  EXPECT_EQ(wc::shared_bytes(wmma_spec(Tile{8, 64, 128, 4, 1})), 0u);
  EXPECT_EQ(wc::shared_bytes(wmma_spec(Tile{16, 16, 64, 4, 1})), 3u * 32 * 8 * 4);

  // Launch: the offsets kernel, then one slot per entry (entry mapping) or per 8-entry m-tile.
  ProblemDims d;
  d.size_m = 8;
  d.size_n = 768;
  d.size_k = 2048;
  d.num_experts = 128;
  d.num_pairs = 8;
  d.input_rows = 8;
  const std::vector<KernelStep> plan = wc::launch_plan(spec, d);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].dims.grid[0], 8u);
  EXPECT_EQ(plan[1].dims.grid[1], 768u / 32);
  EXPECT_EQ(plan[1].dims.block[0], 128u);
  EXPECT_EQ(plan[1].dims.shared_bytes, 1024u);

  // Rules.
  EXPECT_NE(error_of(wmma_spec(Tile{24, 32, 128, 4, 1})).find("BM must be 8 or 16"),
            std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{8, 40, 128, 4, 1})).find("multiple of 16"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{8, 32, 48, 4, 1})).find("multiple of 32"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{16, 32, 128, 4, 1})).find("registers"), std::string::npos);
  EXPECT_NE(error_of(wmma_spec(Tile{8, 48, 128, 4, 1})).find("multiple of BN / 16 = 3"),
            std::string::npos);
  EXPECT_EQ(wc::tile_error(wmma_spec(Tile{16, 16, 64, 4, 1}, ElementKind::F16, 80)), std::nullopt);
}

TEST(WmmaDefaultTile, DeterministicAndValidEverywhere) {
  const ProblemDims problems[] = {
      dims_of(1, 768, 2048, 128),          dims_of(8, 768, 2048, 128),
      dims_of(1024, 768, 2048, 128),       dims_of(4096, 768, 2048, 128),
      dims_of(64, 14336, 4096, 8),         dims_of(1024, 14336, 4096, 8),
      dims_of(1048576, 14336, 4096, 4096), dims_of(0, 64, 256, 4)};
  std::vector<std::optional<GgufBlockFormat>> formats{std::nullopt};
  for (GgufBlockFormat f : kWeightFormats) formats.push_back(f);
  for (int sm : kSupportedSm)
    for (const auto& f : formats)
      for (ElementKind el : {ElementKind::F16, ElementKind::Bf16})
        for (const ProblemDims& d : problems)
          for (bool prefill : {false, true}) {
            const GpuArch arch{sm, false};
            const Tile t = wc::default_tile(f, el, arch, d, prefill);
            EXPECT_EQ(t, wc::default_tile(f, el, arch, d, prefill));
            KernelSpec spec = f ? gguf_spec(*f, t, el, sm) : wmma_spec(t, el, sm);
            EXPECT_EQ(wc::tile_error(spec), std::nullopt)
                << "sm_" << sm << " m=" << d.size_m << " tile " << t.bm << "x" << t.bn << "x"
                << t.bk << " w" << t.warps << " s" << t.stages;
          }
}

TEST(WmmaDefaultTile, DecodeAndPrefillGeometries) {
  const GpuArch h100{90, false};
  // Decode: one m16 tile, wide N.
  const Tile decode =
      wc::default_tile(std::nullopt, ElementKind::Bf16, h100, dims_of(64, 14336, 4096, 8), false);
  EXPECT_EQ(decode.bm, 16);
  EXPECT_GE(decode.bn, 64);
  // Mixtral prefill, ~128 rows per expert: large m-tiles.
  const Tile prefill =
      wc::default_tile(std::nullopt, ElementKind::Bf16, h100, dims_of(1024, 14336, 4096, 8), true);
  EXPECT_EQ(prefill.bm, 128);
  // Qwen3 at 512 tokens (32 +- 6 rows per expert): one m-tile holds nearly every segment.
  const Tile segments =
      wc::default_tile(std::nullopt, ElementKind::Bf16, h100, dims_of(4096, 768, 2048, 128), true);
  EXPECT_EQ(segments.bm, 64);
  // k-quants stage whole super-blocks: BK divides 256.
  const Tile q6 = wc::default_tile(GgufBlockFormat::Q6_K, ElementKind::F16, GpuArch{86, false},
                                   dims_of(1024, 14336, 4096, 8), true);
  EXPECT_EQ(256 % q6.bk, 0);
}

}  // namespace
}  // namespace moejit

namespace moejit {
namespace {

namespace wc = wmma_codegen;

KernelSpec hopper_spec(Tile tile, ElementKind element = ElementKind::Bf16) {
  KernelSpec s;
  s.variant = MoeVariant::Wmma;
  s.element = element;
  s.tile = tile;
  s.arch = GpuArch{90, true};
  return s;
}

TEST(WgmmaTiles, WarpgroupShapesOnSm90aOnly) {
  // One warpgroup of 64, 128, 256 columns; two side by side; two, three, four stacked.
  for (const Tile& t : {Tile{64, 64, 64, 4, 3}, Tile{64, 128, 64, 4, 4}, Tile{64, 256, 64, 4, 4},
                        Tile{64, 128, 64, 8, 3}, Tile{128, 256, 64, 8, 4},
                        Tile{192, 128, 64, 12, 5}, Tile{256, 64, 64, 16, 3}}) {
    EXPECT_TRUE(wc::uses_wgmma(hopper_spec(t))) << t.bm << "x" << t.bn << " w" << t.warps;
    EXPECT_EQ(wc::tile_error(hopper_spec(t)), std::nullopt);
  }
  // Not warpgroup tiles: they run on mma.sync, and stay valid there.
  for (const Tile& t : {Tile{16, 64, 128, 4, 4}, Tile{64, 64, 32, 4, 3}, Tile{64, 64, 64, 4, 2},
                        Tile{64, 64, 64, 2, 3}, Tile{128, 64, 64, 4, 3}, Tile{64, 96, 64, 4, 3},
                        Tile{64, 512, 64, 4, 3}}) {
    EXPECT_FALSE(wc::uses_wgmma(hopper_spec(t))) << t.bm << "x" << t.bn << " w" << t.warps;
  }
  EXPECT_EQ(wc::tile_error(hopper_spec(Tile{16, 64, 128, 4, 4})), std::nullopt);
  // sm_90 (portable) and wmma_gguf never use wgmma.
  KernelSpec portable = hopper_spec(Tile{64, 128, 64, 4, 4});
  portable.arch = GpuArch{90, false};
  EXPECT_FALSE(wc::uses_wgmma(portable));
  // wmma_gguf: BK 64, 128 or 256 dividing or a multiple of the block size.
  KernelSpec gguf = hopper_spec(Tile{64, 128, 64, 4, 4});
  gguf.variant = MoeVariant::WmmaGguf;
  gguf.format = GgufBlockFormat::Q4_K;
  EXPECT_TRUE(wc::uses_wgmma(gguf));
  gguf.tile.bk = 256;
  EXPECT_TRUE(wc::uses_wgmma(gguf));
  gguf.tile.bk = 96;
  EXPECT_FALSE(wc::uses_wgmma(gguf));
  gguf.tile = Tile{16, 64, 256, 4, 3};  // decode tiles stay on mma.sync
  EXPECT_FALSE(wc::uses_wgmma(gguf));
}

TEST(WgmmaTiles, SharedMemoryTemplateAndLimits) {
  // stages x (BM + BN) rows of 128 bytes, plus 1024 bytes to align the swizzle atoms.
  EXPECT_EQ(wc::shared_bytes(hopper_spec(Tile{64, 128, 64, 4, 4})), 4u * 192 * 128 + 1024);
  EXPECT_EQ(wc::shared_bytes(hopper_spec(Tile{192, 128, 64, 12, 5})), 5u * 320 * 128 + 1024);
  // 128x256, 5 stages: 246,784 bytes, over the 227 KiB of a block.
  const auto err = wc::tile_error(hopper_spec(Tile{128, 256, 64, 8, 5}));
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("shared memory"), std::string::npos) << *err;

  KernelSpec spec = hopper_spec(Tile{128, 256, 64, 8, 4}, ElementKind::F16);
  spec.const_n = 14336;
  spec.const_k = 4096;
  const KernelTemplate t = wc::kernel_template(spec);
  EXPECT_EQ(t.includes,
            (std::vector<std::string>{"moe_params.cuh", "expert_offsets.cuh", "wgmma.cuh"}));
  EXPECT_EQ(t.name_expressions,
            (std::vector<std::string>{"&moejit::wgmma_kernel<__half, 128, 256, 8, 4, 14336, 4096>",
                                      "&moejit::expert_offsets_kernel"}));
  EXPECT_EQ(
      t.static_asserts,
      (std::vector<std::string>{"moejit::WgmmaTraits<__half, 128, 256, 8, 4>::kSmemBytes == " +
                                std::to_string(4 * 384 * 128 + 1024)}));
  // wmma_gguf: A ring + two swizzled B tiles + raw ring (as WmmaGgufTraits) + an 8-byte mbarrier
  // per raw slot (bulk copies) + alignment slack.
  KernelSpec gguf = hopper_spec(Tile{128, 64, 64, 8, 3});
  gguf.variant = MoeVariant::WmmaGguf;
  gguf.format = GgufBlockFormat::Q4_K;  // 144-byte super-blocks: 160-byte raw rows, 2 slots
  EXPECT_EQ(wc::shared_bytes(gguf),
            3u * 128 * 64 * 2 + 2u * 64 * 64 * 2 + 2u * 64 * 160 + 2u * 8 + 1024);
  const KernelTemplate g = wc::kernel_template(gguf);
  EXPECT_EQ(g.includes.back(), "wgmma_gguf.cuh");
  EXPECT_EQ(g.name_expressions.front(),
            "&moejit::wgmma_gguf_kernel<moejit::fmt::Q4_K, __nv_bfloat16, 128, 64, 64, 8, 3>");
  EXPECT_EQ(g.static_asserts.front(),
            "moejit::WgmmaGgufTraits<moejit::fmt::Q4_K, __nv_bfloat16, 128, 64, 64, 8, 3>::"
            "kSmemBytes == " +
                std::to_string(wc::shared_bytes(gguf)));
  // The launch geometry is the mma.sync kernel's: slots x n-tiles, warps x 32 threads.
  const std::vector<KernelStep> steps = wc::launch_plan(spec, dims_of(1024, 14336, 4096, 8));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].dims.block[0], 256u);
  EXPECT_EQ(steps[1].dims.grid[1], 14336u / 256);
  EXPECT_EQ(steps[1].dims.shared_bytes, wc::shared_bytes(spec));
}

TEST(RegWeightTiles, RulesNameTheLimit) {
  KernelSpec spec = hopper_spec(Tile{64, 128, 64, 8, 4, true});
  spec.variant = MoeVariant::WmmaGguf;
  spec.format = GgufBlockFormat::Q8_0;
  EXPECT_EQ(wc::tile_error(spec), std::nullopt);
  EXPECT_FALSE(wc::uses_wgmma(spec));  // its own kernel, not wgmma_gguf.cuh
  for (const Tile& t : {Tile{32, 64, 64, 4, 3, true}, Tile{128, 128, 64, 8, 3, true},
                        Tile{96, 256, 64, 16, 3, true}, Tile{64, 192, 64, 12, 4, true},
                        Tile{160, 192, 64, 12, 4, true}, Tile{192, 128, 64, 8, 5, true}}) {
    KernelSpec s = spec;
    s.tile = t;
    EXPECT_EQ(wc::tile_error(s), std::nullopt) << tile_text(t);
  }
  const auto error_of = [&](auto change) {
    KernelSpec s = spec;
    change(s);
    const auto err = wc::tile_error(s);
    return err ? *err : std::string("(valid)");
  };
  EXPECT_NE(error_of([](KernelSpec& s) {
              s.format = GgufBlockFormat::Q5_K;
            }).find("32-element blocks (q4_0, q4_1, q5_0, q5_1, q8_0), q4_k and q6_k, not q5_k"),
            std::string::npos);
  for (const GgufBlockFormat f :
       {GgufBlockFormat::Q4_0, GgufBlockFormat::Q4_1, GgufBlockFormat::Q5_0, GgufBlockFormat::Q5_1,
        GgufBlockFormat::Q4_K, GgufBlockFormat::Q6_K})
    EXPECT_EQ(error_of([&](KernelSpec& s) { s.format = f; }), "(valid)") << format_name(f);
  EXPECT_NE(error_of([](KernelSpec& s) {
              s.arch = GpuArch{90, false};
            }).find("sm_90a"),
            std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.bm = 48; }).find("BM"), std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.bm = 224; }).find("BM"), std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.bk = 128; }).find("BK must be 64"),
            std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.warps = 6; }).find("warpgroups"),
            std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.bn = 64; }).find("BN must be 16 * warps"),
            std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) { s.tile.stages = 2; }).find("stages"), std::string::npos);
  EXPECT_NE(error_of([](KernelSpec& s) {
              s.tile = Tile{128, 256, 64, 16, 7, true};
            }).find("shared memory"),
            std::string::npos);
  // Only wmma_gguf has the option.
  KernelSpec dense = hopper_spec(Tile{64, 128, 64, 8, 4, true});
  EXPECT_NE(tile_error(dense).value_or("").find("wmma_gguf tile option"), std::string::npos);

  // Shared memory: the activation ring, the raw ring (3 slots of 128 rows of 96 bytes: the 16-byte
  // chunks of two q8_0 blocks, 68 bytes, at any even offset), alignment slack; the template
  // asserts the same.
  EXPECT_EQ(wc::shared_bytes(spec), 4u * 64 * 64 * 2 + 3u * 128 * 96 + 1024);
  const KernelTemplate t = wc::kernel_template(spec);
  EXPECT_EQ(t.includes.back(), "wgmma_gguf_rw.cuh");
  EXPECT_EQ(t.name_expressions.front(),
            "&moejit::wgmma_gguf_rw_kernel<moejit::fmt::Q8_0, __nv_bfloat16, 64, 128, 64, 8, 4, 0, "
            "0>");
  EXPECT_EQ(t.static_asserts.front(),
            "moejit::WgmmaGgufRwTraits<moejit::fmt::Q8_0, __nv_bfloat16, 64, 128, 64, 8, 4>::"
            "kSmemBytes == " +
                std::to_string(wc::shared_bytes(spec)));
  const std::vector<KernelStep> steps = wc::launch_plan(spec, dims_of(1024, 14336, 4096, 8));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].dims.block[0], 256u);
  EXPECT_EQ(steps[1].dims.grid[1], 14336u / 128);
}

TEST(WgmmaTiles, DefaultTilesOnSm90aAreWarpgroupTiles) {
  // dims_of(m, n, k, experts): m pairs.
  const ProblemDims problems[] = {
      dims_of(1, 768, 2048, 128),   dims_of(8, 768, 2048, 128),
      dims_of(64, 768, 2048, 128),  dims_of(4096, 768, 2048, 128),
      dims_of(2, 14336, 4096, 8),   dims_of(16, 14336, 4096, 8),
      dims_of(256, 14336, 4096, 8), dims_of(1024, 14336, 4096, 8),
      dims_of(0, 64, 256, 4),       dims_of(1048576, 14336, 4096, 4096)};
  for (ElementKind el : {ElementKind::F16, ElementKind::Bf16})
    for (const ProblemDims& d : problems)
      for (bool prefill : {false, true}) {
        const Tile t = wc::default_tile(std::nullopt, el, GpuArch{90, true}, d, prefill);
        const KernelSpec spec = hopper_spec(t, el);
        EXPECT_EQ(wc::tile_error(spec), std::nullopt) << "m=" << d.size_m;
      }
  // A few entries per expert (a typical segment of at most 8: qwen3 at 1 to 64 tokens, mixtral at
  // 1 to 16): the decode kernel, with K / 512 slices (up to 8): 4 on qwen3, 8 on mixtral. More
  // entries per expert (mixtral at 32 tokens, qwen3 at 128): warpgroup tiles.
  const auto hopper_default = [](const ProblemDims& d) {
    return wc::default_tile(std::nullopt, ElementKind::Bf16, GpuArch{90, true}, d, false);
  };
  EXPECT_EQ(hopper_default(dims_of(8, 768, 2048, 128)), (Tile{8, 32, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(64, 768, 2048, 128)), (Tile{8, 32, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(256, 768, 2048, 128)), (Tile{8, 32, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(512, 768, 2048, 128)), (Tile{8, 32, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(2, 14336, 4096, 8)), (Tile{8, 16, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(16, 14336, 4096, 8)), (Tile{8, 16, 128, 8, 1}));
  EXPECT_EQ(hopper_default(dims_of(32, 14336, 4096, 8)), (Tile{8, 16, 128, 8, 1}));
  EXPECT_TRUE(wc::uses_decode(hopper_spec(hopper_default(dims_of(8, 768, 2048, 128)))));
  EXPECT_TRUE(wc::uses_wgmma(hopper_spec(hopper_default(dims_of(64, 14336, 4096, 8)))));
  EXPECT_TRUE(wc::uses_wgmma(hopper_spec(hopper_default(dims_of(1024, 768, 2048, 128)))));
  // Short K: one slice keeps 512 elements per warp.
  EXPECT_EQ(hopper_default(dims_of(2, 4096, 512, 8)), (Tile{8, 128, 128, 8, 1}));
  // Mixtral at 512 tokens (128 +- 11 rows per expert): two stacked warpgroups of 256 columns.
  EXPECT_EQ(wc::default_tile(std::nullopt, ElementKind::Bf16, GpuArch{90, true},
                             dims_of(1024, 14336, 4096, 8), true),
            (Tile{128, 256, 64, 8, 4}));
  // Tensor-core kernels for sm_90 target sm_90a; ScalarGguf and other architectures keep theirs.
  EXPECT_EQ(kernel_target(MoeVariant::Wmma, GpuArch{90, false}), (GpuArch{90, true}));
  EXPECT_EQ(kernel_target(MoeVariant::WmmaGguf, GpuArch{90, false}), (GpuArch{90, true}));
  EXPECT_EQ(kernel_target(MoeVariant::ScalarGguf, GpuArch{90, false}), (GpuArch{90, false}));
  EXPECT_EQ(kernel_target(MoeVariant::Wmma, GpuArch{80, false}), (GpuArch{80, false}));
}

}  // namespace
}  // namespace moejit
