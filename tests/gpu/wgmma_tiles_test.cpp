// The warpgroup-MMA kernels (Wmma and WmmaGguf on sm_90a) with every warpgroup layout, pinned, on
// ragged shapes: N not a multiple of the warpgroup's columns, K not a multiple of the 64-element
// step, segments taller than one m-tile, one hot expert, top_k 8, out-of-range ids, null and
// present top-k weights, f16 and bf16, GGUF formats of 32- and 256-element blocks, the
// register-weight tiles of each 32-element format, of q4_K and of q6_K. Skipped on devices other
// than compute capability 9.0.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/driver.hpp"
#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

// BMxBN:warps:stages of each layout: one warpgroup of 64, 128 and 256 columns; two warpgroups
// side by side (64 columns each) and stacked (128 rows); three stacked; the default tiles.
const TileRequest kTiles[] = {
    {64, 64, 64, 4, 4},   {64, 128, 64, 4, 3},  {64, 256, 64, 4, 4},   {64, 128, 64, 8, 3},
    {128, 128, 64, 8, 4}, {128, 256, 64, 8, 4}, {192, 128, 64, 12, 5},
};

Case shape(int tokens, int experts, int top_k, int n, int k) {
  Case c = Case::of(MoeVariant::Wmma, tokens, experts, top_k, n, k);
  c.prefill = true;
  return c;
}

std::vector<Case> wgmma_cases() {
  std::vector<Case> shapes;
  shapes.push_back(shape(150, 4, 2, 200, 328));  // 75 rows per expert, N and K ragged
  shapes.push_back(shape(700, 3, 1, 136, 256));  // segments over 192 rows: several m-tiles
  shapes.push_back(shape(40, 64, 8, 72, 136));   // top_k 8, most segments below 16 rows
  shapes.push_back(shape(5, 8, 2, 520, 1024));   // decode-sized, many K steps
  shapes.push_back(shape(75, 4, 1, 201, 256));   // odd N: columns stored one by one
  Case hot = shape(300, 8, 2, 96, 192);          // every token on the same two experts
  hot.routing = RoutingKind::OneExpert;
  shapes.push_back(hot);
  Case bad = shape(33, 16, 2, 80, 256);  // out-of-range ids are skipped
  bad.invalid_entries = true;
  shapes.push_back(bad);

  std::vector<Case> cases;
  std::uint32_t seed = 300;
  // wmma_gguf: 32- and 256-element formats, BK 64 to 256, one to three warpgroups; K a multiple
  // of 256 for every format. Three vary the raw ring (tc/gguf_steps.cuh): mma.sync tiles with 3
  // slots and with 2 (and one B tile), a warpgroup tile with 4. Three stage their raw blocks by
  // bulk copies (WgmmaGgufTraits::kBulk): q4_K 64x128x64:w4, q6_K 64x64x256:w4 and 64x256x64:w8,
  // the last with a block staged once for four K steps, as the shipped q6_K tiles.
  struct GgufTile {
    GgufBlockFormat format;
    TileRequest tile;
  };
  const GgufTile gguf_tiles[] = {
      {GgufBlockFormat::Q4_0, {128, 64, 64, 8, 3}},
      {GgufBlockFormat::Q5_1, {64, 128, 128, 4, 3}},
      {GgufBlockFormat::Q8_0, {64, 64, 64, 4, 4}},
      {GgufBlockFormat::Q4_K, {64, 128, 64, 4, 4}},
      {GgufBlockFormat::Q6_K, {64, 64, 256, 4, 3}},
      {GgufBlockFormat::Q3_K, {192, 64, 64, 12, 3}},
      {GgufBlockFormat::Q2_K, {64, 128, 128, 8, 3}},
      {GgufBlockFormat::Q5_K, {128, 128, 64, 8, 3}},
      {GgufBlockFormat::Q4_K, {64, 64, 128, 8, 5}},
      {GgufBlockFormat::Q6_K, {16, 128, 128, 4, 4}},
      {GgufBlockFormat::Q8_0, {64, 64, 64, 4, 5}},
      {GgufBlockFormat::Q6_K, {64, 256, 64, 8, 4}},
      // Register-weight tiles (wgmma_gguf_rw.cuh): two warpgroups, one, three, three, two; m-tiles
      // of up to 64, 128, 32, 192 and 160 entries.
      {GgufBlockFormat::Q8_0, {64, 128, 64, 8, 4, true}},
      {GgufBlockFormat::Q8_0, {128, 64, 64, 4, 3, true}},
      {GgufBlockFormat::Q8_0, {32, 192, 64, 12, 5, true}},
      {GgufBlockFormat::Q8_0, {192, 192, 64, 12, 4, true}},
      {GgufBlockFormat::Q8_0, {160, 128, 64, 8, 3, true}},
      // The other formats of 32-element blocks on register-weight tiles.
      {GgufBlockFormat::Q4_0, {160, 192, 64, 12, 4, true}},
      {GgufBlockFormat::Q4_1, {64, 64, 64, 4, 3, true}},
      {GgufBlockFormat::Q5_0, {64, 128, 64, 8, 4, true}},
      {GgufBlockFormat::Q5_1, {160, 128, 64, 8, 4, true}},
      // q4_K: a K step is two 32-element sub-blocks of a super-block staged for four steps.
      {GgufBlockFormat::Q4_K, {160, 192, 64, 12, 4, true}},
      {GgufBlockFormat::Q4_K, {64, 128, 64, 8, 3, true}},
      // q6_K: 210-byte super-blocks (staged at even offsets), two scales per sub-block.
      {GgufBlockFormat::Q6_K, {192, 128, 64, 8, 4, true}},
      {GgufBlockFormat::Q6_K, {32, 64, 64, 4, 3, true}},
  };
  for (const GgufTile& gt : gguf_tiles) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Case c = shapes[i];
      c.variant = MoeVariant::WmmaGguf;
      c.format = gt.format;
      c.k = i == 3 ? 1024 : 512;
      // Register-weight tiles step 64 elements (two 32-element blocks): a K of 15 blocks leaves
      // the last step one.
      if (gt.tile.reg_weights && i == 0 && block_layout(gt.format).block_elems == 32) c.k = 480;
      c.tile = gt.tile;
      c.element = (seed % 2 == 0) ? ElementKind::Bf16 : ElementKind::F16;
      c.weighted = (seed / 2) % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }
  }
  for (const TileRequest& tile : kTiles) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Case c = shapes[i];
      c.tile = tile;
      c.element = (seed % 2 == 0) ? ElementKind::Bf16 : ElementKind::F16;
      c.weighted = (seed / 2) % 2 == 0;
      c.seed = seed++;
      cases.push_back(c);
    }
  }
  return cases;
}

bool is_hopper() {
  if (!have_gpu()) return false;
  const GpuArch arch = driver::device_arch(0);
  return arch.sm == 90;
}

class WgmmaTiles : public ::testing::TestWithParam<Case> {
 public:
  static void SetUpTestSuite() {
    if (is_hopper()) prewarm(wgmma_cases());
  }
};

TEST_P(WgmmaTiles, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  if (!is_hopper()) GTEST_SKIP() << "warpgroup MMA tiles need a compute capability 9.0 device";
  const RunOutcome r = run_case(GetParam());
  EXPECT_NE(r.sku.find(":sm_90a:"), std::string::npos) << r.sku;
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Layouts, WgmmaTiles, ::testing::ValuesIn(wgmma_cases()), CaseName());

}  // namespace
}  // namespace moejit::gputest
