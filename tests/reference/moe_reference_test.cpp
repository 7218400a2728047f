// The exact CPU reference of every variant meets its precision guarantee against the double
// reference, which itself matches a plain loop evaluation of the definition; routing edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "moe_test_support.hpp"
#include "moejit/error.hpp"
#include "moejit/precision.hpp"
#include "moejit/reference.hpp"

namespace moejit {
namespace {

using testing_moe::Case;
using testing_moe::make_case;

std::string label(const Case& c) {
  std::ostringstream s;
  s << variant_name(c.variant) << ' ' << element_name(c.element);
  if (c.format) s << ' ' << format_name(*c.format);
  s << (c.topk_weights ? " weighted" : " unweighted");
  return s.str();
}

// Runs the exact reference into a NaN-filled output and checks it against moe_double with the
// guarantee, untargeted rows included; returns the double reference for further checks.
ref::MoeDouble expect_within_guarantee(const Case& c) {
  SCOPED_TRACE(label(c));
  const ref::MoeProblem problem = c.problem();
  testing_moe::Output out = testing_moe::nan_output(c);
  const testing_moe::Output initial = out;
  ref::moe_reference(problem, out.bytes());
  ref::MoeDouble d = ref::moe_double(problem);
  const PrecisionGuarantee g = precision_guarantee(c.variant, c.element, c.shape.k);
  const CheckResult r = c.variant == MoeVariant::Wmma
                            ? check_output(g, d, std::span<const std::uint16_t>(out.bits),
                                           std::span<const std::uint16_t>(initial.bits))
                            : check_output(g, d, std::span<const float>(out.f32),
                                           std::span<const float>(initial.f32));
  EXPECT_TRUE(r.pass) << r.summary();
  EXPECT_GT(r.checked, 0u);
  return d;
}

// moe_double agrees with the plain loops (different summation order: 1e-12 relative to S).
void expect_matches_naive(const Case& c, const ref::MoeDouble& d) {
  SCOPED_TRACE(label(c));
  const std::vector<double> naive = testing_moe::naive_double(c);
  const auto n = static_cast<std::size_t>(c.shape.n);
  for (std::size_t i = 0; i < naive.size(); ++i) {
    if (std::isnan(naive[i])) {
      ASSERT_EQ(d.row_written[i / n], 0) << "row " << i / n;
      continue;
    }
    ASSERT_EQ(d.row_written[i / n], 1) << "row " << i / n;
    ASSERT_NEAR(d.value[i], naive[i], 1e-12 * d.magnitude[i] + 1e-300) << "element " << i;
    ASSERT_GE(d.magnitude[i] * (1 + 1e-12), std::fabs(d.value[i])) << "element " << i;
  }
}

const ref::MoeShape kRagged{/*num_tokens=*/5, /*num_experts=*/4, /*top_k=*/2, /*n=*/37,
                            /*k=*/512};

TEST(MoeReference, ScalarGgufEveryFormatWeightedAndNot) {
  std::uint32_t seed = 100;
  for (GgufBlockFormat f : kWeightFormats)
    for (bool weighted : {true, false}) {
      const Case c =
          make_case(MoeVariant::ScalarGguf, ElementKind::F32, f, kRagged, weighted, seed++);
      expect_matches_naive(c, expect_within_guarantee(c));
    }
}

TEST(MoeReference, WmmaGgufEveryFormatF16AndBf16) {
  std::uint32_t seed = 200;
  for (GgufBlockFormat f : kWeightFormats)
    for (ElementKind e : {ElementKind::F16, ElementKind::Bf16}) {
      const Case c = make_case(MoeVariant::WmmaGguf, e, f, kRagged, seed % 2 == 0, seed);
      ++seed;
      expect_matches_naive(c, expect_within_guarantee(c));
    }
}

TEST(MoeReference, WmmaTopK8RaggedShapesF16AndBf16) {
  const ref::MoeShape shape{/*num_tokens=*/7, /*num_experts=*/16, /*top_k=*/8, /*n=*/45,
                            /*k=*/264};
  std::uint32_t seed = 300;
  for (ElementKind e : {ElementKind::F16, ElementKind::Bf16})
    for (bool weighted : {true, false}) {
      const Case c = make_case(MoeVariant::Wmma, e, std::nullopt, shape, weighted, seed++);
      expect_matches_naive(c, expect_within_guarantee(c));
    }
}

TEST(MoeReference, KSpanningManyBlocks) {
  const ref::MoeShape shape{/*num_tokens=*/3, /*num_experts=*/3, /*top_k=*/2, /*n=*/19,
                            /*k=*/2048};
  expect_within_guarantee(
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, GgufBlockFormat::Q6_K, shape, true, 1));
  expect_within_guarantee(
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, GgufBlockFormat::Q8_0, shape, false, 2));
  expect_within_guarantee(
      make_case(MoeVariant::WmmaGguf, ElementKind::Bf16, GgufBlockFormat::Q4_K, shape, true, 3));
  const Case c = make_case(MoeVariant::Wmma, ElementKind::F16, std::nullopt, shape, false, 4);
  expect_matches_naive(c, expect_within_guarantee(c));
}

TEST(MoeReference, UnweightedReadsTokenRowWeightedReadsPairRow) {
  // Integer-valued f16 operands: every sum is exact, so the output is exact too.
  Case c;
  c.variant = MoeVariant::Wmma;
  c.element = ElementKind::F16;
  c.shape = {/*num_tokens=*/2, /*num_experts=*/2, /*top_k=*/2, /*n=*/1, /*k=*/2};
  c.sorted_ids = {0, 3, 1, 2};  // pairs 0, 3 on expert 0; pairs 1, 2 on expert 1
  c.expert_ids = {0, 0, 1, 1};
  auto h = [](float v) { return float_to_half(v); };
  c.w_el = {h(1), h(2), h(3), h(-1)};     // W[0] = [1 2], W[1] = [3 -1]
  c.act_el = {h(1), h(10), h(2), h(20)};  // token rows [1 10], [2 20]
  testing_moe::Output out = testing_moe::nan_output(c);
  ref::moe_reference(c.problem(), out.bytes());
  // Unweighted: pair p reads token p / 2.
  EXPECT_EQ(half_to_float(out.bits[0]), 21.0f);   // token 0 x W[0]
  EXPECT_EQ(half_to_float(out.bits[1]), -7.0f);   // token 0 x W[1]
  EXPECT_EQ(half_to_float(out.bits[2]), -14.0f);  // token 1 x W[1]
  EXPECT_EQ(half_to_float(out.bits[3]), 42.0f);   // token 1 x W[0]

  // Weighted: pair p reads row p of a [P, K] input and is scaled by weights[p].
  c.act_el = {h(1), h(0), h(0), h(1), h(1), h(1), h(2), h(0)};
  c.topk_weights = std::vector<float>{0.5f, 2.0f, -1.0f, 0.25f};
  ref::moe_reference(c.problem(), out.bytes());
  EXPECT_EQ(half_to_float(out.bits[0]), 0.5f * 1);   // [1 0] x W[0]
  EXPECT_EQ(half_to_float(out.bits[1]), 2.0f * -1);  // [0 1] x W[1]
  EXPECT_EQ(half_to_float(out.bits[2]), -1.0f * 2);  // [1 1] x W[1]
  EXPECT_EQ(half_to_float(out.bits[3]), 0.25f * 2);  // [2 0] x W[0]
}

TEST(MoeReference, EmptyExpertsAndAllTokensOnOneExpert) {
  // Experts 1 and 5 of 8 only: the others have no entries.
  Case c =
      make_case(MoeVariant::WmmaGguf, ElementKind::F16, GgufBlockFormat::Q8_0,
                {/*num_tokens=*/9, /*num_experts=*/8, /*top_k=*/2, /*n=*/33, /*k=*/96}, true, 7);
  std::vector<std::int32_t> ids;
  for (int t = 0; t < 9; ++t) ids.insert(ids.end(), {5, 1});
  ref::Routing r = ref::make_routing(ids, 8);
  c.sorted_ids = r.sorted_ids;
  c.expert_ids = r.expert_ids;
  expect_matches_naive(c, expect_within_guarantee(c));

  // 40 tokens (more than one 32-row tile) all on expert 2, top_k 1.
  Case one =
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, GgufBlockFormat::Q4_0,
                {/*num_tokens=*/40, /*num_experts=*/3, /*top_k=*/1, /*n=*/18, /*k=*/64}, false, 8);
  one.expert_ids.assign(40, 2);
  for (int p = 0; p < 40; ++p) one.sorted_ids[static_cast<std::size_t>(p)] = p;
  expect_matches_naive(one, expect_within_guarantee(one));
}

TEST(MoeReference, InvalidExpertAndPairIdsAreSkippedRowsUntouched) {
  Case c =
      make_case(MoeVariant::Wmma, ElementKind::Bf16, std::nullopt,
                {/*num_tokens=*/4, /*num_experts=*/3, /*top_k=*/2, /*n=*/20, /*k=*/48}, false, 9);
  // Pairs 0..7. Entries: valid (0, e0), (3, e0), (5, e1), (7, e2); skipped: expert -1, expert 3 (=
  // E), pair -1, pair 8 (= P). Pairs 1, 2, 4 and 6 are targeted by no valid entry.
  c.sorted_ids = {2, 0, 3, -1, 5, 8, 4, 7};
  c.expert_ids = {-1, 0, 0, 1, 1, 1, 3, 2};
  testing_moe::Output out = testing_moe::nan_output(c);
  const std::vector<std::uint16_t> initial = out.bits;
  ref::moe_reference(c.problem(), out.bytes());
  const ref::MoeDouble d = ref::moe_double(c.problem());
  const std::vector<std::uint8_t> written{1, 0, 0, 1, 0, 1, 0, 1};
  EXPECT_EQ(d.row_written, written);
  const auto n = static_cast<std::size_t>(c.shape.n);
  for (std::size_t p = 0; p < 8; ++p)
    for (std::size_t col = 0; col < n; ++col) {
      const std::uint16_t bits = out.bits[p * n + col];
      if (written[p])
        EXPECT_FALSE(std::isnan(ref::element_to_float(bits, c.element))) << p;
      else
        EXPECT_EQ(bits, initial[p * n + col]) << "row " << p << " was touched";
    }
  const CheckResult r = check_output(precision_guarantee(c.variant, c.element, c.shape.k), d,
                                     std::span<const std::uint16_t>(out.bits),
                                     std::span<const std::uint16_t>(initial));
  EXPECT_TRUE(r.pass) << r.summary();
  expect_matches_naive(c, d);
}

TEST(MoeReference, ZeroTokensWritesNothing) {
  const Case c =
      make_case(MoeVariant::Wmma, ElementKind::F16, std::nullopt,
                {/*num_tokens=*/0, /*num_experts=*/2, /*top_k=*/2, /*n=*/8, /*k=*/16}, false, 10);
  std::vector<std::uint16_t> out;
  ref::moe_wmma(c.shape, c.element, c.act_el, c.w_el, c.pairs(), out);
  EXPECT_TRUE(ref::moe_double(c.problem()).value.empty());
}

TEST(MoeReference, TypedEntryPointsEqualGenericOne) {
  const Case c =
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, GgufBlockFormat::Q5_K, kRagged, true, 11);
  testing_moe::Output a = testing_moe::nan_output(c);
  testing_moe::Output b = testing_moe::nan_output(c);
  ref::moe_reference(c.problem(), a.bytes());
  ref::moe_scalar_gguf(c.shape, *c.format, c.act_f32, c.w_gguf, c.pairs(), b.f32);
  EXPECT_EQ(std::memcmp(a.f32.data(), b.f32.data(), a.f32.size() * 4), 0);

  const Case g =
      make_case(MoeVariant::WmmaGguf, ElementKind::Bf16, GgufBlockFormat::Q3_K, kRagged, false, 12);
  a = testing_moe::nan_output(g);
  b = testing_moe::nan_output(g);
  ref::moe_reference(g.problem(), a.bytes());
  ref::moe_wmma_gguf(g.shape, g.element, *g.format, g.act_el, g.w_gguf, g.pairs(), b.f32);
  EXPECT_EQ(std::memcmp(a.f32.data(), b.f32.data(), a.f32.size() * 4), 0);
}

TEST(MoeReference, DeterministicOnALargerShapeAcrossThreads) {
  // Large enough to run on several threads; the result must not depend on scheduling.
  const Case c = make_case(MoeVariant::Wmma, ElementKind::F16, std::nullopt,
                           {/*num_tokens=*/48, /*num_experts=*/8, /*top_k=*/4, /*n=*/96,
                            /*k=*/1024},
                           true, 13);
  testing_moe::Output first = testing_moe::nan_output(c);
  testing_moe::Output second = testing_moe::nan_output(c);
  ref::moe_reference(c.problem(), first.bytes());
  ref::moe_reference(c.problem(), second.bytes());
  EXPECT_EQ(first.bits, second.bits);
  expect_within_guarantee(c);
}

TEST(MoeReference, MinFormatMagnitudeCountsScaleAndMinParts) {
  // q4_k values are scale * q - min: S counts both parts, so it exceeds Σ|a w| somewhere; q8_0
  // has no min term and S is exactly Σ|a w|.
  for (GgufBlockFormat f : {GgufBlockFormat::Q4_K, GgufBlockFormat::Q8_0}) {
    const Case c = make_case(MoeVariant::ScalarGguf, ElementKind::F32, f,
                             {/*num_tokens=*/2, /*num_experts=*/1, /*top_k=*/1, /*n=*/3,
                              /*k=*/256},
                             false, 14);
    const ref::MoeDouble d = ref::moe_double(c.problem());
    double max_excess = 0;
    for (std::size_t i = 0; i < d.value.size(); ++i) {
      const std::size_t row = i / 3;
      const std::size_t col = i % 3;
      std::vector<float> w(256);
      dequantize(f, std::span(c.w_gguf).subspan(col * gguf_bytes(f, 256), gguf_bytes(f, 256)), w);
      Q8_1Block blocks[8];
      quantize_q8_1(std::span(c.act_f32).subspan(row * 256, 256), blocks);
      double plain = 0;
      for (std::size_t j = 0; j < 256; ++j)
        plain += std::fabs(static_cast<double>(half_to_float(blocks[j / 32].d)) *
                           blocks[j / 32].qs[j % 32] * w[j]);
      ASSERT_GE(d.magnitude[i], plain * (1 - 1e-12));
      max_excess = std::max(max_excess, d.magnitude[i] / plain - 1);
    }
    if (f == GgufBlockFormat::Q8_0)
      EXPECT_LT(max_excess, 1e-12);
    else
      EXPECT_GT(max_excess, 0.01);
  }
}

}  // namespace
}  // namespace moejit
