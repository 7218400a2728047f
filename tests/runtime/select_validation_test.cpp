// MoePlan::select rejects every invalid or unsupported descriptor before compiling anything, with
// the error code and a message that names the field and its limit.
#include <gtest/gtest.h>

#include <climits>

#include "moejit/moe_plan.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_checks.hpp"
#include "tests/runtime/error_matchers.hpp"

namespace moejit {
namespace {

using testing::throws_error;

MoeDescriptor wmma_descriptor() {
  MoeDescriptor d;
  d.num_tokens = 16;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 256;
  d.d_expert = 128;
  d.variant = MoeVariant::Wmma;
  d.element = ElementKind::F16;
  return d;
}

MoeDescriptor gguf_descriptor(MoeVariant variant, GgufBlockFormat format) {
  MoeDescriptor d = wmma_descriptor();
  d.variant = variant;
  d.block_format = format;
  d.element = variant == MoeVariant::ScalarGguf ? ElementKind::F32 : ElementKind::Bf16;
  return d;
}

PlanPreference sm90() {
  PlanPreference p;
  p.arch = "sm_90";
  return p;
}

auto select_fn(const MoeDescriptor& d, const PlanPreference& p = sm90()) {
  return [d, p] { MoePlan::select(d, p); };
}

TEST(SelectValidation, RejectsNegativeTokens) {
  MoeDescriptor d = wmma_descriptor();
  d.num_tokens = -1;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"num_tokens", ">= 0"}));
}

TEST(SelectValidation, RejectsNonPositiveDimensions) {
  for (auto field : {&MoeDescriptor::num_experts, &MoeDescriptor::top_k, &MoeDescriptor::d_model,
                     &MoeDescriptor::d_expert}) {
    MoeDescriptor d = wmma_descriptor();
    d.*field = 0;
    const char* name = field == &MoeDescriptor::num_experts ? "num_experts"
                       : field == &MoeDescriptor::top_k     ? "top_k"
                       : field == &MoeDescriptor::d_model   ? "d_model"
                                                            : "d_expert";
    EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {name, "> 0"})) << name;
  }
}

TEST(SelectValidation, RejectsTopKAboveExperts) {
  MoeDescriptor d = wmma_descriptor();
  d.top_k = 9;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"top_k", "num_experts"}));
}

TEST(SelectValidation, RejectsTooManyExperts) {
  MoeDescriptor d = wmma_descriptor();
  d.num_experts = plan_checks::kMaxExperts + 1;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"num_experts", "2147483646"}));
}

TEST(SelectValidation, RejectsPairsBeyondInt32) {
  MoeDescriptor d = wmma_descriptor();
  d.num_tokens = INT_MAX / 2 + 1;
  EXPECT_TRUE(
      throws_error(select_fn(d), ErrorCode::Unsupported, {"num_tokens * top_k", "2147483647"}));
}

TEST(SelectValidation, RejectsWidthsBeyondInt32) {
  MoeDescriptor d = wmma_descriptor();
  d.d_model = std::int64_t{INT_MAX} + 1;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"d_model", "int32"}));
  d = wmma_descriptor();
  d.d_expert = std::int64_t{INT_MAX} + 1;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"d_expert", "int32"}));
}

TEST(SelectValidation, ScalarGgufNeedsF32) {
  MoeDescriptor d = gguf_descriptor(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K);
  d.element = ElementKind::F16;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"element f16", "scalar_gguf"}));
}

TEST(SelectValidation, TensorCoreVariantsNeedHalfTypes) {
  MoeDescriptor d = wmma_descriptor();
  d.element = ElementKind::F32;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"element f32", "wmma"}));
  d = gguf_descriptor(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0);
  d.element = ElementKind::F32;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"element f32", "wmma_gguf"}));
}

TEST(SelectValidation, GgufVariantsNeedAFormat) {
  for (MoeVariant v : {MoeVariant::ScalarGguf, MoeVariant::WmmaGguf}) {
    MoeDescriptor d = gguf_descriptor(v, GgufBlockFormat::Q8_0);
    d.block_format.reset();
    EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"block_format"}));
  }
}

TEST(SelectValidation, RejectsActivationFormatAsWeights) {
  for (MoeVariant v : {MoeVariant::ScalarGguf, MoeVariant::WmmaGguf}) {
    MoeDescriptor d = gguf_descriptor(v, GgufBlockFormat::Q8_1);
    EXPECT_TRUE(
        throws_error(select_fn(d), ErrorCode::InvalidProblem, {"block_format q8_1", "weight"}));
  }
}

TEST(SelectValidation, DenseWmmaTakesNoFormat) {
  MoeDescriptor d = wmma_descriptor();
  d.block_format = GgufBlockFormat::Q4_0;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"block_format q4_0"}));
}

TEST(SelectValidation, DModelMustBeWholeBlocks) {
  MoeDescriptor d = gguf_descriptor(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K);
  d.d_model = 384;  // 1.5 super-blocks
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"d_model", "256", "q4_k"}));
  d = gguf_descriptor(MoeVariant::ScalarGguf, GgufBlockFormat::Q5_0);
  d.d_model = 48;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"d_model", "32", "q5_0"}));
}

TEST(SelectValidation, WmmaNeedsKMultipleOf8) {
  MoeDescriptor d = wmma_descriptor();
  d.d_model = 100;
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::Unsupported, {"d_model", "multiple of 8"}));
}

TEST(SelectValidation, RejectsUnknownArchitecture) {
  PlanPreference p;
  p.arch = "sm_75";
  EXPECT_TRUE(throws_error(select_fn(wmma_descriptor(), p), ErrorCode::Unsupported,
                           {"PlanPreference::arch", "sm_75"}));
  p.arch = "hopper";
  EXPECT_TRUE(throws_error(select_fn(wmma_descriptor(), p), ErrorCode::Unsupported, {"hopper"}));
}

TEST(SelectValidation, RejectsImpossibleTileRequest) {
  MoeDescriptor d = wmma_descriptor();
  d.tile = TileRequest{7, 13, 5, 3, 1};
  EXPECT_TRUE(throws_error(select_fn(d), ErrorCode::InvalidProblem, {"tile"}));
}

TEST(SelectValidation, WithoutDeviceOrArchReportsNoDevice) {
  if (driver::available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_TRUE(throws_error([] { MoePlan::select(wmma_descriptor()); }, ErrorCode::NoDevice,
                           {"PlanPreference::arch"}));
}

TEST(SelectValidation, AcceptsLargeExpertAndPairCounts) {
  MoeDescriptor d = wmma_descriptor();
  d.num_experts = 4096;
  d.top_k = 8;
  d.num_tokens = 131072;  // 1,048,576 pairs
  const plan_checks::OperandSizes s = plan_checks::validate_descriptor(d);
  EXPECT_EQ(s.num_pairs, 1048576);
  EXPECT_EQ(s.output_bytes, std::size_t{1048576} * 128 * 2);
  EXPECT_EQ(s.weight_bytes, std::size_t{4096} * 128 * 256 * 2);
}

TEST(SelectValidation, OperandSizesFollowTheFormat) {
  MoeDescriptor d = gguf_descriptor(MoeVariant::WmmaGguf, GgufBlockFormat::Q6_K);
  d.d_model = 512;
  const plan_checks::OperandSizes s = plan_checks::validate_descriptor(d);
  EXPECT_EQ(s.weight_row_bytes, 2u * 210u);
  EXPECT_EQ(s.output_elem, 4u);  // WmmaGguf writes f32
  EXPECT_EQ(s.activation_elem, 2u);
  d = gguf_descriptor(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_0);
  const plan_checks::OperandSizes t = plan_checks::validate_descriptor(d);
  EXPECT_EQ(t.weight_row_bytes, 8u * 18u);
  EXPECT_EQ(t.activation_elem, 4u);
}

}  // namespace
}  // namespace moejit
