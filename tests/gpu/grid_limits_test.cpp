// Problems with more column tiles than a grid's y dimension holds (65535): the tensor-core kernels
// continue their n-tiles into z (tc::n_tile_index), ScalarGguf's CTAs stride over the tiles past
// gridDim.y. One expert, two tokens and a short K keep the operands small (18 to 67 MB).
#include <gtest/gtest.h>

#include <vector>

#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

constexpr int kMaxGridY = 65535;

Case wide(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
          TileRequest tile, int k) {
  // A few tiles past the limit, the last one partial.
  const int n = (kMaxGridY + 3) * tile.bn - tile.bn / 2;
  Case c = Case::of(variant, 2, 1, 1, n, k);
  c.format = format;
  c.element = element;
  c.tile = tile;
  c.prefill = tile.stages > 1 && variant == MoeVariant::Wmma;
  return c;
}

std::vector<Case> wide_cases() {
  return {
      // mma.sync tiles (wmma.cuh), 16 columns per CTA: 65538 n-tiles, y = 65535, z = 2.
      wide(MoeVariant::Wmma, std::nullopt, ElementKind::F16, {16, 16, 32, 1, 2}, 32),
      // The dense decode kernel (wmma_decode.cuh), 16 columns per CTA.
      wide(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, {8, 16, 64, 1, 1}, 32),
      // GGUF tensor-core tiles (wmma_gguf.cuh), 32 columns per CTA, q4_0.
      wide(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_0, ElementKind::Bf16, {16, 32, 64, 2, 3}, 64),
      // ScalarGguf dp4a tiles, 8 columns per CTA: the grid's 65535 y-CTAs take 65538 tiles.
      wide(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32, {1, 8, 0, 4, 1}, 32),
  };
}

using GridLimits = PrewarmedCases<wide_cases>;

TEST_P(GridLimits, ColumnTilesPastTheGridsYLimitMatchTheReference) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Wide, GridLimits, ::testing::ValuesIn(wide_cases()), CaseName());

}  // namespace
}  // namespace moejit::gputest
