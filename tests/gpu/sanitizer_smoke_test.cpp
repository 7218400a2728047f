// A small set of runs for compute-sanitizer (memcheck, racecheck): one kernel of each variant,
// both tile families, the Wmma decode kernel, staged and int8 tensor-core ScalarGguf tiles, with
// out-of-range expert and pair ids. scripts/device-check.sh runs it with
// --gtest_filter='*SanitizerSmoke*'.
#include <gtest/gtest.h>

#include <vector>

#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

std::vector<Case> smoke_cases() {
  std::vector<Case> cases;
  auto add = [&](MoeVariant v, std::optional<GgufBlockFormat> f, ElementKind e, bool prefill,
                 bool weighted, bool invalid, std::optional<TileRequest> tile = std::nullopt) {
    Case c;
    c.variant = v;
    c.format = f;
    c.element = e;
    c.tokens = prefill ? 70 : 3;
    c.experts = 8;
    c.top_k = 2;
    c.n = 40;
    c.k = 512;
    c.prefill = prefill;
    c.weighted = weighted;
    c.invalid_entries = invalid;
    c.tile = tile;
    c.seed = static_cast<std::uint32_t>(cases.size() + 100);
    cases.push_back(c);
  };
  add(MoeVariant::Wmma, std::nullopt, ElementKind::F16, false, true, true);
  add(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, true, false, false);
  // The decode kernel with K slices exchanging sums through shared memory.
  add(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, false, true, true,
      TileRequest{8, 32, 64, 4, 1});
  add(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, true, false, true);
  add(MoeVariant::WmmaGguf, GgufBlockFormat::Q5_0, ElementKind::F16, false, true, false);
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32, false, true, true);
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q3_K, ElementKind::F32, true, false, false);
  // Staged tiles: weight segments through each warp's shared-memory ring, one slot refilled
  // per segment (s1) and two slots refilled across column tiles and windows (s2).
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32, false, true, true,
      TileRequest{1, 8, 256, 4, 1});
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32, true, false, false,
      TileRequest{4, 8, 256, 2, 2});
  // Int8 tensor-core tiles: A ring, raw weight ring and two decoded B tiles, windows over several
  // experts, a partial column tile (N 40), out-of-range ids.
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32, true, true, true,
      TileRequest{16, 32, 128, 2, 3});
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q6_K, ElementKind::F32, true, false, false,
      TileRequest{32, 64, 128, 4, 4});
  add(MoeVariant::ScalarGguf, GgufBlockFormat::Q5_0, ElementKind::F32, true, true, false,
      TileRequest{16, 32, 64, 2, 3});
  return cases;
}

class SanitizerSmoke : public ::testing::TestWithParam<Case> {};

TEST_P(SanitizerSmoke, RunsCleanAndCorrect) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  EXPECT_TRUE(r.check.pass) << r.sku << ": " << r.check.summary();
}

INSTANTIATE_TEST_SUITE_P(Kernels, SanitizerSmoke, ::testing::ValuesIn(smoke_cases()), CaseName());

}  // namespace
}  // namespace moejit::gputest
