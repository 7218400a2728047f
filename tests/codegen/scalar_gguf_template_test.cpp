// The ScalarGguf codegen half: instantiation text, launch plans that cover every entry and column
// (the kernels grid-stride), workspace sizes, tile rules and their messages, default tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "codegen/kernel_template.hpp"
#include "codegen/scalar_gguf_template.hpp"
#include "codegen/tile_table.hpp"
#include "codegen/variant_templates.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

namespace sc = scalar_gguf_codegen;

KernelSpec scalar_spec(GgufBlockFormat f, Tile tile = Tile{1, 8, 0, 4, 1}, int sm = 90) {
  KernelSpec s;
  s.variant = MoeVariant::ScalarGguf;
  s.format = f;
  s.element = ElementKind::F32;
  s.tile = tile;
  s.arch = GpuArch{sm, false};
  return s;
}

std::string tile_message(const KernelSpec& s) { return sc::tile_error(s).value_or(""); }

// Routed problem: tokens * top_k pairs, activations indexed by token (no top-k weights).
ProblemDims decode_dims(std::int64_t tokens, std::int64_t top_k, std::int64_t n, std::int64_t k,
                        std::int64_t experts) {
  return ProblemDims{tokens * top_k, n, k, experts, tokens * top_k, tokens};
}

// Replays the kernels' grid-stride loops and counts how often each entry window / column tile /
// q8_1 block is visited: every one exactly once means full coverage without duplicates.
void expect_full_coverage(const KernelSpec& spec, const ProblemDims& d,
                          const std::vector<KernelStep>& plan) {
  ASSERT_EQ(plan.size(), 2u);
  const LaunchDims& q = plan[0].dims;
  const std::int64_t warps_per_cta = q.block[0] / 32;
  const std::int64_t q8_blocks = d.input_rows * (d.size_k / 32);
  std::vector<int> seen_blocks(static_cast<std::size_t>(q8_blocks), 0);
  for (std::int64_t cta = 0; cta < q.grid[0]; ++cta)
    for (std::int64_t w = 0; w < warps_per_cta; ++w)
      for (std::int64_t b = cta * warps_per_cta + w; b < q8_blocks;
           b += static_cast<std::int64_t>(q.grid[0]) * warps_per_cta)
        ++seen_blocks[static_cast<std::size_t>(b)];
  for (int v : seen_blocks) ASSERT_EQ(v, 1);

  const LaunchDims& m = plan[1].dims;
  const std::int64_t windows = (d.size_m + spec.tile.bm - 1) / spec.tile.bm;
  const std::int64_t tiles = (d.size_n + spec.tile.bn - 1) / spec.tile.bn;
  std::vector<int> seen(static_cast<std::size_t>(windows * tiles), 0);
  for (std::int64_t bx = 0; bx < m.grid[0]; ++bx)
    for (std::int64_t by = 0; by < m.grid[1]; ++by)
      for (std::int64_t win = bx; win < windows; win += m.grid[0])
        for (std::int64_t tile = by; tile < tiles; tile += m.grid[1])
          ++seen[static_cast<std::size_t>(win * tiles + tile)];
  for (int v : seen) ASSERT_EQ(v, 1);
}

TEST(ScalarGgufTemplate, NamesTheKernelsMainFirst) {
  const KernelTemplate t = sc::kernel_template(scalar_spec(GgufBlockFormat::Q4_K));
  ASSERT_EQ(t.name_expressions.size(), 2u);
  EXPECT_EQ(t.name_expressions[0],
            "&moejit::scalar_gguf_kernel<moejit::vecdot::Q4_K, 1, 8, 4, 0, 0>");
  EXPECT_EQ(t.name_expressions[1], "&moejit::quantize_q8_1_kernel");
  EXPECT_EQ(t.includes.back(), "scalar_gguf.cuh");
  EXPECT_NE(std::find(t.includes.begin(), t.includes.end(), "quantize_q8_1.cuh"), t.includes.end());
  EXPECT_NE(std::find(t.static_asserts.begin(), t.static_asserts.end(),
                      "moejit::vecdot::Q4_K::kBlockBytes == 144"),
            t.static_asserts.end());
}

TEST(ScalarGgufTemplate, EveryWeightFormatHasItsTraitAndLayoutAsserts) {
  for (GgufBlockFormat f : kWeightFormats) {
    const KernelTemplate t = sc::kernel_template(scalar_spec(f));
    std::string upper(format_name(f));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_NE(t.name_expressions[0].find("moejit::vecdot::" + upper + ","), std::string::npos)
        << t.name_expressions[0];
    const std::string bytes = std::to_string(block_layout(f).block_bytes);
    EXPECT_NE(std::find(t.static_asserts.begin(), t.static_asserts.end(),
                        "sizeof(moejit::vecdot::" + upper + "::Block) == " + bytes),
              t.static_asserts.end())
        << upper;
  }
}

TEST(ScalarGgufTemplate, CompiledSizesEnterTheNameExpression) {
  KernelSpec s = scalar_spec(GgufBlockFormat::Q6_K, Tile{2, 16, 0, 8, 1});
  s.const_n = 768;
  s.const_k = 2048;
  EXPECT_EQ(sc::kernel_template(s).name_expressions[0],
            "&moejit::scalar_gguf_kernel<moejit::vecdot::Q6_K, 2, 16, 8, 768, 2048>");
}

TEST(ScalarGgufTemplate, StagedTilesNameTheirSegmentAndRing) {
  const KernelSpec s = scalar_spec(GgufBlockFormat::Q4_0, Tile{1, 16, 1024, 8, 2});
  EXPECT_EQ(sc::tile_error(s), std::nullopt);
  EXPECT_EQ(sc::kernel_template(s).name_expressions[0],
            "&moejit::scalar_gguf_kernel<moejit::vecdot::Q4_0, 1, 16, 8, 0, 0, 1024, 2>");
  // 8 warps, 2 segments each, 2 columns of 32 blocks of 18 bytes.
  EXPECT_EQ(shared_bytes(s), 8u * 2u * 2u * 32u * 18u);
  const std::vector<KernelStep> plan = sc::launch_plan(s, decode_dims(1, 8, 768, 2048, 128));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].dims.shared_bytes, 18432u);
}

TEST(ScalarGgufTemplate, StagedSegmentStepIsWholeWords) {
  const std::pair<GgufBlockFormat, int> steps[] = {
      {GgufBlockFormat::Q4_0, 256},  {GgufBlockFormat::Q4_1, 128}, {GgufBlockFormat::Q5_0, 256},
      {GgufBlockFormat::Q5_1, 64},   {GgufBlockFormat::Q8_0, 256}, {GgufBlockFormat::Q2_K, 1024},
      {GgufBlockFormat::Q3_K, 2048}, {GgufBlockFormat::Q4_K, 256}, {GgufBlockFormat::Q5_K, 256},
      {GgufBlockFormat::Q6_K, 2048}};
  for (const auto& [f, step] : steps) {
    EXPECT_EQ(sc::staged_bk_step(f), step) << format_name(f);
    EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{1, 8, step, 4, 2})), std::nullopt)
        << format_name(f);
    if (step > block_layout(f).block_elems) {
      EXPECT_NE(sc::tile_error(scalar_spec(f, Tile{1, 8, step / 2, 4, 2})), std::nullopt)
          << format_name(f);
    }
  }
}

TEST(ScalarGgufTemplate, InvalidSpecThrowsInvalidProblem) {
  try {
    sc::kernel_template(scalar_spec(GgufBlockFormat::Q4_K, Tile{9, 8, 0, 4, 1}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("bm"), std::string::npos) << e.what();
  }
}

TEST(ScalarGgufLaunch, QuantizeFirstThenMainKernelCoveringEverything) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q4_K, Tile{2, 8, 0, 4, 1});
  for (const ProblemDims& d : {decode_dims(1, 8, 768, 2048, 128), decode_dims(8, 8, 768, 2048, 128),
                               decode_dims(1, 2, 14336, 4096, 8), decode_dims(3, 2, 13, 256, 4),
                               decode_dims(37, 4, 100, 512, 4096)}) {
    const std::vector<KernelStep> plan = sc::launch_plan(spec, d);
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].name_expression, "&moejit::quantize_q8_1_kernel");
    EXPECT_EQ(plan[0].dims.block[0], sc::kQuantizeThreads);
    EXPECT_EQ(plan[1].name_expression,
              "&moejit::scalar_gguf_kernel<moejit::vecdot::Q4_K, 2, 8, 4, 0, 0>");
    EXPECT_EQ(plan[1].dims.block[0], 128u);
    EXPECT_EQ(plan[1].dims.block[1], 1u);
    EXPECT_EQ(plan[1].dims.shared_bytes, 0u);
    EXPECT_EQ(plan[1].dims.grid[0], static_cast<unsigned>((d.size_m + 1) / 2));
    EXPECT_EQ(plan[1].dims.grid[1], static_cast<unsigned>((d.size_n + 7) / 8));
    expect_full_coverage(spec, d, plan);
  }
}

TEST(ScalarGgufLaunch, MillionEntriesGoOnGridX) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q8_0);
  const ProblemDims d = decode_dims(131072, 8, 768, 2048, 4096);
  ASSERT_EQ(d.size_m, 1048576);
  const std::vector<KernelStep> plan = sc::launch_plan(spec, d);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].dims.grid[0], 1048576u);
  EXPECT_EQ(plan[1].dims.grid[1], 96u);
  EXPECT_LE(plan[1].dims.grid[1], 65535u);
  // 131072 rows * 64 blocks in 8-warp CTAs: clamped, the quantizer grid-strides over the rest.
  EXPECT_EQ(plan[0].dims.grid[0], sc::kMaxQuantizeCtas);
}

// On sm_90+ both steps launch programmatically: the quantizer also after the caller's kernels (it
// waits before reading), the main kernel only after the quantizer (it reads routing and weights
// before its wait). Below sm_90 neither does.
TEST(ScalarGgufLaunch, StepsLaunchProgrammaticallyOnSm90) {
  const ProblemDims d = decode_dims(1, 8, 768, 2048, 128);
  const std::vector<KernelStep> hopper = sc::launch_plan(scalar_spec(GgufBlockFormat::Q4_K), d);
  ASSERT_EQ(hopper.size(), 2u);
  EXPECT_TRUE(hopper[0].programmatic);
  EXPECT_TRUE(hopper[0].waits_first);
  EXPECT_TRUE(hopper[1].programmatic);
  EXPECT_FALSE(hopper[1].waits_first);
  const std::vector<KernelStep> ampere =
      sc::launch_plan(scalar_spec(GgufBlockFormat::Q4_K, Tile{1, 8, 0, 4, 1}, 80), d);
  ASSERT_EQ(ampere.size(), 2u);
  EXPECT_FALSE(ampere[0].programmatic);
  EXPECT_FALSE(ampere[1].programmatic);
}

TEST(ScalarGgufLaunch, WideOutputsAreClampedAndStrided) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q4_0, Tile{1, 4, 0, 4, 1});
  const ProblemDims d = decode_dims(1, 1, 600000, 32, 2);
  const std::vector<KernelStep> plan = sc::launch_plan(spec, d);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].dims.grid[1], 65535u);
  expect_full_coverage(spec, d, plan);
}

TEST(ScalarGgufLaunch, NothingToDoMeansNoLaunch) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q4_K);
  EXPECT_TRUE(sc::launch_plan(spec, decode_dims(0, 8, 768, 2048, 128)).empty());
  EXPECT_TRUE(sc::launch_plan(spec, decode_dims(4, 8, 0, 2048, 128)).empty());
  EXPECT_TRUE(sc::launch_plan(spec, decode_dims(4, 8, 768, 2048, 0)).empty());
}

TEST(ScalarGgufLaunch, DispatchThroughTheContract) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q5_K);
  const ProblemDims d = decode_dims(8, 8, 768, 2048, 128);
  const std::vector<KernelStep> a = launch_plan(spec, d);
  const std::vector<KernelStep> b = sc::launch_plan(spec, d);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].name_expression, b[i].name_expression);
  EXPECT_EQ(shared_bytes(spec), 0u);
}

TEST(ScalarGgufLaunch, BadSizesThrowNamingTheSize) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q4_K);
  const auto message = [&](const ProblemDims& d) -> std::string {
    try {
      sc::launch_plan(spec, d);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(decode_dims(1, 8, 768, 2000, 128)).find("multiple of 256"), std::string::npos);
  EXPECT_NE(message(decode_dims(1, 8, 768, 0, 128)).find("size_k"), std::string::npos);
  EXPECT_NE(message(ProblemDims{-1, 768, 2048, 8, 8, 1}).find("size_m"), std::string::npos);
  EXPECT_NE(message(ProblemDims{1, 768, 2048, 8, 8, 1LL << 31}).find("input_rows"),
            std::string::npos);
  KernelSpec fixed = spec;
  fixed.const_k = 4096;
  try {
    sc::launch_plan(fixed, decode_dims(1, 8, 768, 2048, 128));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k=4096"), std::string::npos) << e.what();
  }
}

TEST(ScalarGgufTemplate, MmaTilesNameTheTensorCoreKernelAndSplitQuantizer) {
  const KernelSpec s = scalar_spec(GgufBlockFormat::Q4_K, Tile{32, 128, 128, 4, 3});
  EXPECT_TRUE(sc::uses_mma(s.tile));
  EXPECT_FALSE(sc::uses_mma(Tile{8, 32, 0, 8, 1}));
  EXPECT_EQ(sc::tile_error(s), std::nullopt);
  const KernelTemplate t = sc::kernel_template(s);
  ASSERT_EQ(t.name_expressions.size(), 2u);
  EXPECT_EQ(t.name_expressions[0],
            "&moejit::scalar_gguf_mma_kernel<moejit::vecdot::Q4_K, 32, 128, 128, 4, 3, 0, 0>");
  EXPECT_EQ(t.name_expressions[1], "&moejit::quantize_q8_1_split_kernel");
  EXPECT_NE(std::find(t.includes.begin(), t.includes.end(), "scalar_gguf_mma.cuh"),
            t.includes.end());
  // 3 A stages of 32 rows x (128 + 16) bytes + 4 block words of 8 bytes; the raw ring: 2 slots of
  // 128 rows x 160 bytes (ten 16-byte words cover a 144-byte block at any even offset); 2 B tiles
  // of 128 rows x 144 bytes + 4 sub-blocks x (scale, min) f32.
  const std::size_t smem =
      3u * (32 * 144 + 32 * 4 * 8) + 2u * 128 * 160 + 2u * (128 * 144 + 128 * 4 * 2 * 4);
  EXPECT_EQ(shared_bytes(s), smem);
  EXPECT_NE(
      std::find(t.static_asserts.begin(), t.static_asserts.end(),
                "moejit::ScalarMmaTraits<moejit::vecdot::Q4_K, 32, 128, 128, 4, 3>::kSmemBytes "
                "== " +
                    std::to_string(smem)),
      t.static_asserts.end());
  const std::vector<KernelStep> plan = sc::launch_plan(s, decode_dims(512, 2, 14336, 4096, 8));
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].name_expression, "&moejit::quantize_q8_1_split_kernel");
  EXPECT_EQ(plan[1].dims.grid[0], 32u);   // 1024 entries / 32
  EXPECT_EQ(plan[1].dims.grid[1], 112u);  // 14336 / 128
  EXPECT_EQ(plan[1].dims.block[0], 128u);
  EXPECT_EQ(plan[1].dims.shared_bytes, smem);
  expect_full_coverage(s, decode_dims(100, 2, 300, 512, 8),
                       sc::launch_plan(s, decode_dims(100, 2, 300, 512, 8)));
}

TEST(ScalarGgufTemplate, MmaStepHoldsWholeChunks) {
  const std::pair<GgufBlockFormat, int> steps[] = {
      {GgufBlockFormat::Q4_0, 32}, {GgufBlockFormat::Q4_1, 32}, {GgufBlockFormat::Q5_0, 32},
      {GgufBlockFormat::Q5_1, 32}, {GgufBlockFormat::Q8_0, 32}, {GgufBlockFormat::Q2_K, 64},
      {GgufBlockFormat::Q3_K, 64}, {GgufBlockFormat::Q4_K, 64}, {GgufBlockFormat::Q5_K, 64},
      {GgufBlockFormat::Q6_K, 128}};
  for (const auto& [f, step] : steps) {
    EXPECT_EQ(sc::mma_bk_step(f), step) << format_name(f);
    EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{16, 64, step, 4, 3})), std::nullopt)
        << format_name(f);
    EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{64, 128, 256, 8, 3})), std::nullopt)
        << format_name(f);
    if (step > 32) {
      EXPECT_NE(tile_message(scalar_spec(f, Tile{16, 64, step / 2, 4, 3}))
                    .find("multiple of " + std::to_string(step)),
                std::string::npos)
          << format_name(f);
    }
  }
}

TEST(ScalarGgufWorkspace, MmaTilesStageValuesThenBlockWords) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q8_0, Tile{32, 64, 128, 4, 3});
  const WorkspaceLayout w = sc::workspace_layout(spec, decode_dims(8, 8, 768, 2048, 128));
  EXPECT_EQ(w.q8_bytes, 8u * 2048 + 8u * 64 * 8);
  EXPECT_EQ(w.total, 20480u);
}

TEST(ScalarGgufWorkspace, OneQ81AreaRoundedTo256) {
  const KernelSpec spec = scalar_spec(GgufBlockFormat::Q8_0);
  WorkspaceLayout w = sc::workspace_layout(spec, decode_dims(8, 8, 768, 2048, 128));
  EXPECT_EQ(w.q8_offset, 0u);
  EXPECT_EQ(w.q8_bytes, 8u * 64 * 36);
  EXPECT_EQ(w.total, 18432u);
  EXPECT_EQ(w.offsets_bytes, 0u);
  w = sc::workspace_layout(spec, decode_dims(3, 2, 10, 96, 4));
  EXPECT_EQ(w.q8_bytes, 3u * 3 * 36);
  EXPECT_EQ(w.total, 512u);
  // With top-k weights the activations have one row per pair.
  w = sc::workspace_layout(spec, ProblemDims{16, 10, 64, 4, 16, 16});
  EXPECT_EQ(w.q8_bytes, 16u * 2 * 36);
  EXPECT_EQ(w.total % 256, 0u);
  w = sc::workspace_layout(spec, decode_dims(0, 2, 10, 64, 4));
  EXPECT_EQ(w.total, 0u);
  EXPECT_EQ(workspace_layout(spec, decode_dims(8, 8, 768, 2048, 128)).total, 18432u);
}

TEST(ScalarGgufTileRules, ValidTilesPass) {
  for (GgufBlockFormat f : kWeightFormats)
    for (int sm : {80, 86, 87, 89, 90}) {
      EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{1, 8, 0, 4, 1}, sm)), std::nullopt);
      EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{8, 32, 0, 8, 1}, sm)), std::nullopt);
      EXPECT_EQ(sc::tile_error(scalar_spec(f, Tile{4, 256, 0, 32, 1}, sm)), std::nullopt);
    }
}

TEST(ScalarGgufTileRules, MessagesNameTheLimit) {
  const GgufBlockFormat f = GgufBlockFormat::Q4_K;
  EXPECT_NE(tile_message(scalar_spec(f, Tile{0, 8, 0, 4, 1})).find("[1, 8]"), std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{9, 8, 0, 4, 1})).find("[1, 8]"), std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{9, 8, 0, 4, 1})).find("int8 tensor cores"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 33, 0, 33, 1})).find("1024-thread"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 6, 0, 4, 1})).find("multiple of warps"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 36, 0, 4, 1})).find("columns per warp"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{8, 32, 0, 4, 1})).find("accumulators"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 8, 16, 4, 1})).find("multiple of 256"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 8, 0, 4, 2})).find("stages must be 1"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 8, 256, 4, 9})).find("[1, 8]"), std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(GgufBlockFormat::Q6_K, Tile{1, 8, 1024, 4, 2}))
                .find("not whole 16-byte words; pick a multiple of 2048"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{1, 64, 4096, 8, 8})).find("bytes of shared"),
            std::string::npos);
  KernelSpec s = scalar_spec(f);
  s.const_k = 1000;
  EXPECT_NE(tile_message(s).find("block size of q4_k"), std::string::npos);
  s = scalar_spec(f);
  s.element = ElementKind::F16;
  EXPECT_NE(tile_message(s).find("f32"), std::string::npos);
  s = scalar_spec(f);
  s.format.reset();
  EXPECT_NE(tile_message(s).find("weight format"), std::string::npos);
  s = scalar_spec(f);
  s.format = GgufBlockFormat::Q8_1;
  EXPECT_NE(tile_message(s).find("weight format"), std::string::npos);
  s = scalar_spec(f);
  s.variant = MoeVariant::Wmma;
  EXPECT_NE(tile_message(s).find("not scalar_gguf"), std::string::npos);
}

TEST(ScalarGgufTileRules, MmaMessagesNameTheLimit) {
  const GgufBlockFormat f = GgufBlockFormat::Q4_0;
  EXPECT_NE(tile_message(scalar_spec(f, Tile{32, 64, 128, 4, 3}, 75)).find("sm_80 or newer"),
            std::string::npos);
  EXPECT_EQ(tile_message(scalar_spec(f, Tile{32, 64, 128, 4, 3}, 80)), "");
  EXPECT_NE(tile_message(scalar_spec(f, Tile{24, 64, 128, 4, 3})).find("multiple of 16 up to 64"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{128, 64, 128, 8, 3})).find("up to 64"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{16, 40, 128, 2, 3})).find("multiple of 16"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{64, 64, 128, 1, 3})).find("fewer threads"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{16, 32, 128, 4, 3})).find("no layout"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{64, 128, 128, 2, 3})).find("accumulators"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{32, 64, 48, 4, 3})).find("multiple of 32"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{32, 64, 128, 4, 2})).find("[3, 8]"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(f, Tile{64, 256, 1024, 16, 8})).find("bytes of shared"),
            std::string::npos);
  EXPECT_NE(tile_message(scalar_spec(GgufBlockFormat::Q4_K, Tile{32, 64, 384, 4, 3}))
                .find("divides, or is a multiple of, the block size 256"),
            std::string::npos);
}

TEST(ScalarGgufDefaults, DeterministicAndValid) {
  for (GgufBlockFormat f : kWeightFormats)
    for (int sm : {75, 80, 86, 87, 89, 90})
      for (bool prefill : {false, true})
        for (std::int64_t tokens : {0, 1, 2, 8, 32, 512, 131072})
          for (std::int64_t experts : {1, 8, 128, 4096}) {
            const ProblemDims d = decode_dims(tokens, std::min<std::int64_t>(8, experts), 768,
                                              block_layout(f).block_elems * 8, experts);
            const GpuArch arch{sm, false};
            const Tile a = sc::default_tile(f, arch, d, prefill);
            const Tile b = sc::default_tile(f, arch, d, prefill);
            EXPECT_EQ(a, b);
            KernelSpec s = scalar_spec(f, a, sm);
            EXPECT_EQ(sc::tile_error(s), std::nullopt) << "tile " << a.bm << "x" << a.bn;
            // The variant's heuristics are the library's, before any shipped tile table.
            EXPECT_EQ(
                a, heuristic_tile(MoeVariant::ScalarGguf, f, ElementKind::F32, arch, d, prefill));
          }
}

TEST(ScalarGgufDefaults, DecodeAndPrefillShapes) {
  const GpuArch h100{90, false};
  const GgufBlockFormat q4k = GgufBlockFormat::Q4_K;
  // qwen3-30b-a3b, one token: 8 entries; too few CTAs for windows of two.
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(1, 8, 768, 2048, 128), false),
            (Tile{1, 8, 0, 4, 1}));
  // Eight tokens: 64 entries, enough CTAs for windows of two.
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(8, 8, 768, 2048, 128), false).bm, 2);
  // mixtral-8x7b, 32 tokens: 64 entries over 8 experts share weight chunks four at a time.
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(32, 2, 14336, 4096, 8), false).bm, 4);
  // 16 or more entries per expert: int8 tensor cores (qwen3 at 512 tokens: 32 per expert;
  // mixtral at 512 tokens: 128), except before sm_80.
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(512, 8, 768, 2048, 128), true),
            (Tile{32, 64, 128, 8, 3}));
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(512, 2, 14336, 4096, 8), true),
            (Tile{64, 64, 128, 8, 3}));
  EXPECT_EQ(sc::default_tile(q4k, GpuArch{75, false}, decode_dims(512, 8, 768, 2048, 128), true).bm,
            4);
  // 8 entries per expert (qwen3 at 128 tokens) stay on dp4a.
  EXPECT_EQ(sc::default_tile(q4k, h100, decode_dims(128, 8, 768, 2048, 128), true).bm, 4);
  EXPECT_EQ(
      sc::default_tile(GgufBlockFormat::Q2_K, h100, decode_dims(1, 8, 768, 2048, 128), false).bn,
      16);
  EXPECT_EQ(
      sc::default_tile(GgufBlockFormat::Q2_K, h100, decode_dims(8, 8, 768, 2048, 128), false).bn,
      8);
}

TEST(ScalarGgufAlignment, PerFormat) {
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q4_K), 16u);
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q5_K), 16u);
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q2_K), 4u);
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q4_1), 4u);
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q6_K), 2u);
  EXPECT_EQ(sc::weight_alignment(GgufBlockFormat::Q8_0), 2u);
  for (GgufBlockFormat f : kWeightFormats)
    EXPECT_EQ(block_layout(f).block_bytes % sc::weight_alignment(f), 0u) << format_name(f);
  EXPECT_THROW(sc::weight_alignment(GgufBlockFormat::Q8_1), Error);
}

}  // namespace
}  // namespace moejit
