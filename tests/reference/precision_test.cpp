// The precision guarantee's parameters and text, and the output check: it passes the exact
// reference and fails on a perturbed element, a NaN or unwritten row, a disturbed untargeted row,
// a wrong weight and a missing half super-block.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "moe_test_support.hpp"
#include "moejit/error.hpp"
#include "moejit/precision.hpp"

namespace moejit {
namespace {

using testing_moe::Case;
using testing_moe::make_case;

TEST(PrecisionGuarantee, ParametersFollowK) {
  const PrecisionGuarantee g = precision_guarantee(MoeVariant::Wmma, ElementKind::Bf16, 2048);
  EXPECT_EQ(g.epsilon, std::ldexp(1.0, -23));
  EXPECT_EQ(g.accumulation_steps, 2048 / 16 + 32);
  EXPECT_EQ(g.output_ulps, 0.5);
  EXPECT_EQ(g.absolute_floor, 160 * std::ldexp(1.0, -126));
  EXPECT_EQ(precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 17).accumulation_steps,
            2 + 32);
  EXPECT_EQ(precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 256).output_ulps, 0);
  EXPECT_EQ(precision_guarantee(MoeVariant::ScalarGguf, ElementKind::F32, 256).output_ulps, 0);
}

TEST(PrecisionGuarantee, DescriptionSaysWhatIsRoundedWhere) {
  const auto has = [](const PrecisionGuarantee& g, const char* s) {
    return g.description.find(s) != std::string::npos;
  };
  const auto scalar = precision_guarantee(MoeVariant::ScalarGguf, ElementKind::F32, 4096);
  EXPECT_TRUE(has(scalar, "scalar_gguf, K = 4096"));
  EXPECT_TRUE(has(scalar, "quantize_q8_1"));
  EXPECT_TRUE(has(scalar, "288 * 2^-23 * S"));
  EXPECT_TRUE(has(scalar, "|min part|"));
  const auto wmma = precision_guarantee(MoeVariant::Wmma, ElementKind::F16, 64);
  EXPECT_TRUE(has(wmma, "wmma f16, K = 64"));
  EXPECT_TRUE(has(wmma, "0.5 * ulp_f16"));
  EXPECT_TRUE(has(wmma, "rounded once to f16"));
  const auto wg = precision_guarantee(MoeVariant::WmmaGguf, ElementKind::Bf16, 512);
  EXPECT_TRUE(has(wg, "bit for bit"));
  EXPECT_FALSE(has(wg, "ulp_"));
}

TEST(PrecisionGuarantee, RejectsElementsTheVariantDoesNotTake) {
  EXPECT_THROW(precision_guarantee(MoeVariant::ScalarGguf, ElementKind::F16, 256), Error);
  EXPECT_THROW(precision_guarantee(MoeVariant::Wmma, ElementKind::F32, 256), Error);
  EXPECT_THROW(precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F32, 256), Error);
  EXPECT_THROW(precision_guarantee(MoeVariant::Wmma, ElementKind::F16, 0), Error);
}

TEST(PrecisionGuarantee, ElementUlp) {
  EXPECT_EQ(element_ulp(ElementKind::F16, 1.0), std::ldexp(1.0, -10));
  EXPECT_EQ(element_ulp(ElementKind::F16, -1.999), std::ldexp(1.0, -10));
  EXPECT_EQ(element_ulp(ElementKind::F16, 2.0), std::ldexp(1.0, -9));
  EXPECT_EQ(element_ulp(ElementKind::F16, 1e-6), std::ldexp(1.0, -24));  // subnormal spacing
  EXPECT_EQ(element_ulp(ElementKind::Bf16, 1.0), std::ldexp(1.0, -7));
  EXPECT_EQ(element_ulp(ElementKind::Bf16, 300.0), std::ldexp(1.0, 1));
  EXPECT_EQ(element_ulp(ElementKind::F32, 1.0), std::ldexp(1.0, -23));
  EXPECT_EQ(element_ulp(ElementKind::F32, 0.0), std::ldexp(1.0, -149));
}

TEST(PrecisionGuarantee, BoundFormula) {
  const auto g = precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 2048);
  const double eps = std::ldexp(1.0, -23);
  EXPECT_DOUBLE_EQ(g.bound(3.0, 10.0), 160 * eps * 10 + 160 * std::ldexp(1.0, -126));
  const auto w = precision_guarantee(MoeVariant::Wmma, ElementKind::F16, 2048);
  // |y_ref| + 160 eps S lies in [2, 4): half an f16 ulp there is 2^-10.
  EXPECT_DOUBLE_EQ(w.bound(3.0, 10.0),
                   160 * eps * 10 + std::ldexp(1.0, -10) + 160 * std::ldexp(1.0, -126));
}

// One output row of width 2 with a chosen reference, for the checker's own logic.
ref::MoeDouble one_row(double value, double magnitude) {
  ref::MoeDouble d;
  d.shape = {/*num_tokens=*/2, /*num_experts=*/1, /*top_k=*/1, /*n=*/2, /*k=*/16};
  d.value = {value, value, 0, 0};
  d.magnitude = {magnitude, magnitude, 0, 0};
  d.row_written = {1, 0};
  return d;
}

TEST(CheckOutput, ExactlyAtTheBoundPassesJustBeyondFails) {
  const auto g = precision_guarantee(MoeVariant::ScalarGguf, ElementKind::F32, 16);
  const ref::MoeDouble d = one_row(1.0, 1.0);
  const double b = g.bound(1.0, 1.0);
  const float at = static_cast<float>(1.0 + b * 0.95);
  const float beyond = static_cast<float>(1.0 + b * 2.0);
  const std::vector<float> ok{at, 1.0f, 7.0f, 7.0f};
  const CheckResult pass = check_output(g, d, std::span<const float>(ok));
  EXPECT_TRUE(pass.pass) << pass.summary();
  EXPECT_EQ(pass.checked, 2u);
  const std::vector<float> bad{1.0f, beyond, 7.0f, 7.0f};
  const CheckResult fail = check_output(g, d, std::span<const float>(bad));
  EXPECT_FALSE(fail.pass);
  EXPECT_EQ(fail.out_of_bound, 1u);
  EXPECT_EQ(fail.worst_index, 1u);
  EXPECT_EQ(fail.worst_col, 1u);
  EXPECT_NEAR(fail.max_error_ratio, 2.0, 0.01);
  EXPECT_NE(fail.summary().find("FAIL"), std::string::npos);
}

TEST(CheckOutput, UntargetedRowsMustStayAsTheyWere) {
  const auto g = precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 16);
  const ref::MoeDouble d = one_row(1.0, 1.0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> initial{nan, nan, nan, nan};
  std::vector<float> out{1.0f, 1.0f, nan, nan};
  EXPECT_TRUE(
      check_output(g, d, std::span<const float>(out), std::span<const float>(initial)).pass);
  out[3] = 0.0f;
  const CheckResult r =
      check_output(g, d, std::span<const float>(out), std::span<const float>(initial));
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.disturbed, 1u);
}

TEST(CheckOutput, OverflowToInfinityMatchesAnOutOfRangeReference) {
  const auto g = precision_guarantee(MoeVariant::Wmma, ElementKind::F16, 16);
  const std::vector<std::uint16_t> inf{0x7C00, 0x7C00, 0, 0};
  EXPECT_TRUE(check_output(g, one_row(70000.0, 70000.0), std::span<const std::uint16_t>(inf)).pass);
  const CheckResult r =
      check_output(g, one_row(1000.0, 1000.0), std::span<const std::uint16_t>(inf));
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.non_finite, 2u);
}

TEST(CheckOutput, RejectsMismatchedSizes) {
  const auto g = precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 16);
  const std::vector<float> out(3);
  EXPECT_THROW(check_output(g, one_row(1, 1), std::span<const float>(out)), Error);
  const auto g32 = precision_guarantee(MoeVariant::WmmaGguf, ElementKind::F16, 32);
  const std::vector<float> right(4);
  EXPECT_THROW(check_output(g32, one_row(1, 1), std::span<const float>(right)), Error);
}

// A ScalarGguf problem with K = 2048 and its reference output, for the failure tests below.
struct Computed {
  Case c;
  std::vector<float> initial;
  std::vector<float> out;
  ref::MoeDouble d;
  PrecisionGuarantee g;
};
Computed scalar_case(GgufBlockFormat f) {
  Computed r;
  r.c =
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, f,
                {/*num_tokens=*/6, /*num_experts=*/4, /*top_k=*/2, /*n=*/24, /*k=*/2048}, true, 21);
  r.initial.assign(r.c.out_elems(), std::numeric_limits<float>::quiet_NaN());
  r.out = r.initial;
  ref::moe_reference(r.c.problem(), std::as_writable_bytes(std::span(r.out)));
  r.d = ref::moe_double(r.c.problem());
  r.g = precision_guarantee(MoeVariant::ScalarGguf, ElementKind::F32, 2048);
  return r;
}

TEST(CheckOutput, FailsOnOnePerturbedElementNaNRowAndUnwrittenRow) {
  Computed r = scalar_case(GgufBlockFormat::Q4_K);
  const auto check = [&](const std::vector<float>& out) {
    return check_output(r.g, r.d, std::span<const float>(out), std::span<const float>(r.initial));
  };
  const CheckResult good = check(r.out);
  ASSERT_TRUE(good.pass) << good.summary();
  EXPECT_LT(good.relative_l2_error, 1e-6);

  // One element off by 1e-3 of its magnitude, about what one wrong weight of 2048 does.
  const std::size_t at = 5 * 24 + 7;
  std::vector<float> perturbed = r.out;
  perturbed[at] += static_cast<float>(1e-3 * r.d.magnitude[at]);
  const CheckResult one = check(perturbed);
  EXPECT_FALSE(one.pass);
  EXPECT_EQ(one.out_of_bound, 1u);
  EXPECT_EQ(one.worst_index, at);
  EXPECT_EQ(one.worst_row, 5u);
  EXPECT_GT(one.max_error_ratio, 10.0);

  // A targeted row left NaN (unwritten over the NaN fill).
  std::vector<float> unwritten = r.out;
  for (std::size_t c = 0; c < 24; ++c) unwritten[3 * 24 + c] = r.initial[3 * 24 + c];
  const CheckResult nan_row = check(unwritten);
  EXPECT_FALSE(nan_row.pass);
  EXPECT_EQ(nan_row.non_finite, 24u);
  EXPECT_TRUE(std::isinf(nan_row.max_error_ratio));
  EXPECT_TRUE(std::isinf(nan_row.relative_l2_error));

  // A targeted row left at a zero fill is out of bound, not non-finite.
  std::vector<float> zeros = r.out;
  for (std::size_t c = 0; c < 24; ++c) zeros[3 * 24 + c] = 0.0f;
  const CheckResult zero_row = check_output(r.g, r.d, std::span<const float>(zeros));
  EXPECT_FALSE(zero_row.pass);
  EXPECT_EQ(zero_row.non_finite, 0u);
  EXPECT_EQ(zero_row.out_of_bound, 24u);
}

TEST(CheckOutput, CatchesHalfOfEachQ6KSuperBlockMissing) {
  // The upstream scalar Q6_K defect summed only the first 128 values of each super-block. Zeroing
  // the scales of the second half reproduces that output.
  Computed r = scalar_case(GgufBlockFormat::Q6_K);
  Case broken = r.c;
  for (std::size_t b = 0; b < broken.w_gguf.size(); b += 210)
    for (int s = 8; s < 16; ++s) broken.w_gguf[b + 192 + static_cast<std::size_t>(s)] = 0;
  std::vector<float> out = r.initial;
  ref::moe_reference(broken.problem(), std::as_writable_bytes(std::span(out)));
  const CheckResult res =
      check_output(r.g, r.d, std::span<const float>(out), std::span<const float>(r.initial));
  EXPECT_FALSE(res.pass);
  EXPECT_GT(res.out_of_bound, res.checked * 9 / 10) << res.summary();
}

TEST(CheckOutput, CatchesOneWrongWeightValue) {
  // Dense f16, K = 2048: one weight of one expert row negated changes every element that uses it.
  Case c = make_case(MoeVariant::Wmma, ElementKind::F16, std::nullopt,
                     {/*num_tokens=*/4, /*num_experts=*/2, /*top_k=*/2, /*n=*/16, /*k=*/2048},
                     false, 22);
  const ref::MoeDouble d = ref::moe_double(c.problem());
  const auto g = precision_guarantee(MoeVariant::Wmma, ElementKind::F16, 2048);
  const std::size_t row = 0 * 16 + 5;  // expert 0, column 5
  std::size_t big = 0;
  for (std::size_t k = 0; k < 2048; ++k)
    if (std::fabs(half_to_float(c.w_el[row * 2048 + k])) >
        std::fabs(half_to_float(c.w_el[row * 2048 + big])))
      big = k;
  c.w_el[row * 2048 + big] ^= 0x8000;  // negate
  std::vector<std::uint16_t> out(c.out_elems(), 0x7E00);
  ref::moe_wmma(c.shape, c.element, c.act_el, c.w_el, c.pairs(), out);
  const CheckResult res = check_output(g, d, std::span<const std::uint16_t>(out));
  EXPECT_FALSE(res.pass);
  EXPECT_GE(res.out_of_bound, 1u);
  EXPECT_EQ(res.worst_col, 5u) << res.summary();
}

}  // namespace
}  // namespace moejit
