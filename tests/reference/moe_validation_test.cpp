// The reference rejects malformed problems with Error(InvalidProblem) naming the field, and
// make_routing flattens and sorts the router's choices as the pair-index convention says.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "moe_test_support.hpp"
#include "moejit/error.hpp"
#include "moejit/reference.hpp"

namespace moejit {
namespace {

using testing_moe::Case;
using testing_moe::make_case;

// Expects fn to throw Error(InvalidProblem) whose message contains `needle`.
void expect_invalid(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const ref::MoeShape kShape{/*num_tokens=*/3, /*num_experts=*/2, /*top_k=*/2, /*n=*/4, /*k=*/64};

TEST(MoeValidation, OperandLengths) {
  Case c =
      make_case(MoeVariant::ScalarGguf, ElementKind::F32, GgufBlockFormat::Q8_0, kShape, true, 1);
  std::vector<float> out(c.out_elems());
  auto run = [&] { ref::moe_scalar_gguf(c.shape, *c.format, c.act_f32, c.w_gguf, c.pairs(), out); };
  ASSERT_NO_THROW(run());

  Case bad = c;
  bad.act_f32.pop_back();
  expect_invalid([&] { ref::validate(bad.problem()); }, "activations");
  bad = c;
  bad.w_gguf.push_back(0);
  expect_invalid([&] { ref::validate(bad.problem()); }, "weights");
  bad = c;
  bad.topk_weights->pop_back();
  expect_invalid([&] { ref::moe_double(bad.problem()); }, "topk_weights");
  bad = c;
  bad.expert_ids.pop_back();
  expect_invalid([&] { ref::validate(bad.problem()); }, "expert_ids");
  out.pop_back();
  expect_invalid(run, "out has");

  // Without topk_weights the activations are [num_tokens, K], not [P, K].
  Case unweighted = c;
  unweighted.topk_weights.reset();
  expect_invalid([&] { ref::validate(unweighted.problem()); }, "num_tokens * k");
}

TEST(MoeValidation, ShapesAndTypes) {
  const Case c =
      make_case(MoeVariant::WmmaGguf, ElementKind::F16, GgufBlockFormat::Q4_0, kShape, false, 2);
  auto with = [&](const std::function<void(ref::MoeProblem&)>& edit) {
    ref::MoeProblem p = c.problem();
    edit(p);
    return [p] { ref::validate(p); };
  };
  expect_invalid(with([](auto& p) { p.shape.num_tokens = -1; }), "num_tokens");
  expect_invalid(with([](auto& p) { p.shape.num_experts = 0; }), "num_experts");
  expect_invalid(with([](auto& p) { p.shape.top_k = 0; }), "top_k");
  expect_invalid(with([](auto& p) { p.shape.n = 0; }), "n (d_expert)");
  expect_invalid(with([](auto& p) { p.shape.k = -32; }), "k (d_model)");
  expect_invalid(with([](auto& p) { p.shape.num_tokens = 1 << 30; }), "int32");
  expect_invalid(with([](auto& p) { p.shape.k = 48; }), "multiple of the q4_0 block size 32");
  expect_invalid(with([](auto& p) { p.format = GgufBlockFormat::Q8_1; }), "not a weight format");
  expect_invalid(with([](auto& p) { p.format.reset(); }), "format is missing");
  expect_invalid(with([](auto& p) { p.element = ElementKind::F32; }), "takes f16 or bf16");
  expect_invalid(with([](auto& p) { p.variant = MoeVariant::Wmma; }), "format is set");
  expect_invalid(with([](auto& p) { p.variant = MoeVariant::ScalarGguf; }), "f32 activations");
  // k-quants need K to be a multiple of 256.
  expect_invalid(with([](auto& p) { p.format = GgufBlockFormat::Q4_K; }),
                 "multiple of the q4_k block size 256");
}

TEST(MoeValidation, PairTargetedTwiceIsRejected) {
  Case c = make_case(MoeVariant::Wmma, ElementKind::F16, std::nullopt, kShape, false, 3);
  c.sorted_ids[3] = c.sorted_ids[1];
  expect_invalid([&] { ref::validate(c.problem()); }, "both target pair");
  // A duplicate on a skipped entry (invalid expert) does not write, so it is allowed.
  c.expert_ids[3] = -1;
  EXPECT_NO_THROW(ref::validate(c.problem()));
}

TEST(MoeValidation, ElementConversions) {
  EXPECT_EQ(ref::element_to_float(0x3C00, ElementKind::F16), 1.0f);
  EXPECT_EQ(ref::element_to_float(0x3F80, ElementKind::Bf16), 1.0f);
  EXPECT_EQ(ref::float_to_element(-2.0f, ElementKind::F16), 0xC000);
  EXPECT_EQ(ref::float_to_element(-2.0f, ElementKind::Bf16), 0xC000);
  expect_invalid([] { ref::element_to_float(0, ElementKind::F32); }, "no 16-bit encoding");
  expect_invalid([] { ref::float_to_element(0, ElementKind::F32); }, "no 16-bit encoding");
}

TEST(Routing, FlattensToPairIdsSortedStablyByExpert) {
  // topk_ids[3, 2]: token 0 -> {2, 0}, token 1 -> {0, 1}, token 2 -> {2, 1}.
  const std::vector<std::int32_t> topk_ids{2, 0, 0, 1, 2, 1};
  const ref::Routing r = ref::make_routing(topk_ids, 3);
  EXPECT_EQ(r.sorted_ids, (std::vector<std::int32_t>{1, 2, 3, 5, 0, 4}));
  EXPECT_EQ(r.expert_ids, (std::vector<std::int32_t>{0, 0, 1, 1, 2, 2}));
  const ref::RoutedPairs p = r.pairs();
  EXPECT_EQ(p.sorted_ids.size(), 6u);
  EXPECT_FALSE(p.topk_weights.has_value());
}

TEST(Routing, EmptyAndInvalid) {
  EXPECT_TRUE(ref::make_routing({}, 4).sorted_ids.empty());
  const std::vector<std::int32_t> bad{0, 4};
  expect_invalid([&] { ref::make_routing(bad, 4); }, "topk_ids[1] = 4");
  const std::vector<std::int32_t> negative{-1};
  expect_invalid([&] { ref::make_routing(negative, 4); }, "topk_ids[0] = -1");
  expect_invalid([] { ref::make_routing({}, 0); }, "num_experts");
}

TEST(Routing, TypicalDrawsTouchTheExpectedExperts) {
  EXPECT_DOUBLE_EQ(ref::expected_touched_experts(128, 8, 1), 8.0);
  EXPECT_EQ(ref::expected_touched_experts(8, 2, 0), 0.0);
  // (E, top_k, tokens, round(E * (1 - (1 - top_k / E)^tokens))): the tracked decode points.
  const int points[][4] = {{128, 8, 8, 52}, {128, 8, 32, 112}, {8, 2, 8, 7}, {8, 2, 1, 2}};
  for (const auto& pt : points) {
    int touched = -1;
    const std::vector<std::int32_t> ids = ref::typical_topk_ids(pt[0], pt[1], pt[2], 7, &touched);
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(pt[1] * pt[2]));
    EXPECT_EQ(touched, pt[3]) << pt[0] << " experts, " << pt[2] << " tokens";
    std::set<std::int32_t> all(ids.begin(), ids.end());
    EXPECT_EQ(static_cast<int>(all.size()), touched);
    for (int t = 0; t < pt[2]; ++t) {
      const std::set<std::int32_t> token(ids.begin() + t * pt[1], ids.begin() + (t + 1) * pt[1]);
      EXPECT_EQ(static_cast<int>(token.size()), pt[1]) << "token " << t << " repeats an expert";
      EXPECT_GE(*token.begin(), 0);
      EXPECT_LT(*token.rbegin(), pt[0]);
    }
    EXPECT_EQ(ref::typical_topk_ids(pt[0], pt[1], pt[2], 7), ids);  // deterministic
  }
  EXPECT_TRUE(ref::typical_topk_ids(8, 2, 0, 1).empty());
  expect_invalid([] { ref::typical_topk_ids(4, 5, 1, 1); }, "top_k <= num_experts");
  expect_invalid([] { ref::typical_topk_ids(4, 0, 1, 1); }, "top_k <= num_experts");
}

}  // namespace
}  // namespace moejit
