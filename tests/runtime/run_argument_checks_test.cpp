// The argument checks of MoePlan::run: every buffer present, aligned and large enough for the
// descriptor, named in the error. Pointers here are never dereferenced.
#include <gtest/gtest.h>

#include <cstdint>

#include "runtime/plan_checks.hpp"
#include "tests/runtime/error_matchers.hpp"

namespace moejit {
namespace {

using testing::throws_error;

template <class T = void>
T* fake(std::uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

struct Call {
  MoeDescriptor d;
  plan_checks::OperandSizes sizes;
  MoeArgs args;
  std::size_t workspace_needed = 1024;
  void* workspace = fake(0x900000);
  std::size_t workspace_bytes = 1024;

  void check() const {
    plan_checks::validate_args(d, sizes, workspace_needed, workspace, workspace_bytes, args);
  }
  auto fn() const {
    return [c = *this] { c.check(); };
  }
};

// WmmaGguf q4_k bf16: T = 4 tokens, top_k = 2, E = 8, K = 512, N = 64, with top-k weights.
Call valid_call() {
  Call c;
  c.d.num_tokens = 4;
  c.d.num_experts = 8;
  c.d.top_k = 2;
  c.d.d_model = 512;
  c.d.d_expert = 64;
  c.d.variant = MoeVariant::WmmaGguf;
  c.d.block_format = GgufBlockFormat::Q4_K;
  c.d.element = ElementKind::Bf16;
  c.sizes = plan_checks::validate_descriptor(c.d);
  MoeArgs& a = c.args;
  a.activations = fake(0x100000);
  a.activations_bytes = 8 * 512 * 2;  // P rows (weighted)
  a.sorted_ids = fake<const std::int32_t>(0x200000);
  a.expert_ids = fake<const std::int32_t>(0x300000);
  a.size_m = 8;
  a.topk_weights = fake<const float>(0x400000);
  a.topk_weights_count = 8;
  a.weights = fake(0x500000);
  a.weights_bytes = 8 * 64 * 2 * 144;
  a.output = fake(0x600000);
  a.output_bytes = 8 * 64 * 4;
  return c;
}

TEST(RunArgumentChecks, AcceptsAValidCall) { EXPECT_NO_THROW(valid_call().check()); }

TEST(RunArgumentChecks, ActivationRowsFollowTopKWeights) {
  Call c = valid_call();
  c.args.topk_weights = nullptr;
  c.args.topk_weights_count = 0;
  c.args.activations_bytes = 4 * 512 * 2;  // one row per token without weights
  EXPECT_NO_THROW(c.check());
  c = valid_call();
  c.args.activations_bytes = 4 * 512 * 2;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"activations", "4096", "8192"}));
}

TEST(RunArgumentChecks, NamesEachTooSmallBuffer) {
  Call c = valid_call();
  c.args.weights_bytes -= 1;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::weights", "147456"}));
  c = valid_call();
  c.args.output_bytes = 8 * 64 * 2;  // f16-sized, but WmmaGguf writes f32
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::output", "2048"}));
  c = valid_call();
  c.args.topk_weights_count = 7;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"topk_weights_count", "8"}));
}

TEST(RunArgumentChecks, NamesMissingPointers) {
  for (int which = 0; which < 5; ++which) {
    Call c = valid_call();
    const char* name = "";
    switch (which) {
      case 0:
        c.args.activations = nullptr, name = "MoeArgs::activations";
        break;
      case 1:
        c.args.sorted_ids = nullptr, name = "MoeArgs::sorted_ids";
        break;
      case 2:
        c.args.expert_ids = nullptr, name = "MoeArgs::expert_ids";
        break;
      case 3:
        c.args.weights = nullptr, name = "MoeArgs::weights";
        break;
      case 4:
        c.args.output = nullptr, name = "MoeArgs::output";
        break;
    }
    EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {name, "null"})) << name;
  }
}

TEST(RunArgumentChecks, HugeWeightCountsDoNotWrap) {
  // 2^62 + 1 weights: the byte count would wrap to 4 in size_t.
  Call c = valid_call();
  c.args.topk_weights_count = (std::size_t{1} << 62) + 1;
  EXPECT_NO_THROW(c.check());
}

TEST(RunArgumentChecks, CountWithoutWeightsIsAMistake) {
  Call c = valid_call();
  c.args.topk_weights = nullptr;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"topk_weights", "null"}));
}

TEST(RunArgumentChecks, RequiresAlignment) {
  Call c = valid_call();
  c.args.activations = fake(0x100008);
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::activations", "16-byte"}));
  c = valid_call();
  c.args.weights = fake(0x500002);
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::weights", "16-byte"}));
  c = valid_call();
  c.args.output = fake(0x600004);
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::output", "16-byte"}));
  c = valid_call();
  c.args.sorted_ids = fake<const std::int32_t>(0x200002);
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"MoeArgs::sorted_ids", "4-byte"}));
  c = valid_call();
  c.workspace = fake(0x900008);
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"workspace", "16-byte"}));
}

TEST(RunArgumentChecks, ChecksTheWorkspace) {
  Call c = valid_call();
  c.workspace = nullptr;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"workspace", "1024"}));
  c = valid_call();
  c.workspace_bytes = 1000;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"workspace_bytes", "1000"}));
  c = valid_call();
  c.workspace_needed = 0;
  c.workspace = nullptr;
  c.workspace_bytes = 0;
  EXPECT_NO_THROW(c.check());
}

TEST(RunArgumentChecks, EmptyRoutingNeedsNoIds) {
  Call c = valid_call();
  c.args.size_m = 0;
  c.args.sorted_ids = nullptr;
  c.args.expert_ids = nullptr;
  EXPECT_NO_THROW(c.check());
}

TEST(RunArgumentChecks, RejectsEntryCountsBeyondInt32) {
  Call c = valid_call();
  c.args.size_m = std::size_t{1} << 31;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"size_m", "int32"}));
}

TEST(RunArgumentChecks, ScalarGgufTakesF32Activations) {
  Call c = valid_call();
  c.d.variant = MoeVariant::ScalarGguf;
  c.d.element = ElementKind::F32;
  c.sizes = plan_checks::validate_descriptor(c.d);
  c.args.activations_bytes = 8 * 512 * 2;
  EXPECT_TRUE(throws_error(c.fn(), ErrorCode::InvalidProblem, {"activations", "16384"}));
  c.args.activations_bytes = 8 * 512 * 4;
  EXPECT_NO_THROW(c.check());
}

}  // namespace
}  // namespace moejit
