// With a named architecture, select compiles (or loads from the cache) on a machine without a
// GPU; run then checks its arguments and reports NoDevice.
#include <gtest/gtest.h>

#include "codegen/arch_limits.hpp"

#include <cstdint>

#include "moejit/moe_plan.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_state.hpp"
#include "tests/runtime/error_matchers.hpp"

namespace moejit {
namespace {

using testing::throws_error;

MoeDescriptor descriptor(MoeVariant variant, std::optional<GgufBlockFormat> format,
                         ElementKind element) {
  MoeDescriptor d;
  d.num_tokens = 12;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 512;
  d.d_expert = 96;
  d.variant = variant;
  d.block_format = format;
  d.element = element;
  return d;
}

PlanPreference arch(const char* name) {
  PlanPreference p;
  p.arch = name;
  return p;
}

// Arguments of the right sizes for d at fake, aligned addresses (never dereferenced).
MoeArgs args_for(const MoePlan& plan) {
  const plan_checks::OperandSizes s = PlanAccess::state(plan).sizes;
  const MoeDescriptor& d = plan.descriptor();
  MoeArgs a;
  a.activations = reinterpret_cast<const void*>(0x100000);
  a.activations_bytes = static_cast<std::size_t>(s.num_pairs) * s.activation_row_bytes;
  a.sorted_ids = reinterpret_cast<const std::int32_t*>(0x200000);
  a.expert_ids = reinterpret_cast<const std::int32_t*>(0x300000);
  a.size_m = static_cast<std::size_t>(s.num_pairs);
  a.topk_weights = reinterpret_cast<const float*>(0x400000);
  a.topk_weights_count = static_cast<std::size_t>(d.num_tokens * d.top_k);
  a.weights = reinterpret_cast<const void*>(0x500000);
  a.weights_bytes = s.weight_bytes;
  a.output = reinterpret_cast<void*>(0x600000);
  a.output_bytes = s.output_bytes;
  return a;
}

class SelectWithoutDevice
    : public ::testing::TestWithParam<
          std::tuple<MoeVariant, std::optional<GgufBlockFormat>, ElementKind, const char*>> {};

TEST_P(SelectWithoutDevice, CompilesForTheNamedArchitecture) {
  const auto& [variant, format, element, target] = GetParam();
  const MoePlan plan = MoePlan::select(descriptor(variant, format, element), arch(target));
  // Wmma kernels for sm_90 are generated for sm_90a (warpgroup MMAs).
  const std::string expected = kernel_target(variant, *parse_arch(target)).to_string();
  EXPECT_EQ(plan.arch(), expected);
  EXPECT_NE(plan.sku().find(std::string(variant_name(variant)) + ":"), std::string::npos)
      << plan.sku();
  EXPECT_NE(plan.sku().find(expected), std::string::npos) << plan.sku();
  EXPECT_EQ(plan.precision_guarantee().variant, variant);
  EXPECT_EQ(plan.precision_guarantee().k, 512);
  const Artifact& artifact = plan_artifact(plan);
  EXPECT_FALSE(artifact.cubin.empty());
  EXPECT_EQ(artifact.key_text, plan.sku());
  if (variant != MoeVariant::ScalarGguf) {
    EXPECT_GE(plan.workspace_size(), 9u * 4u);  // expert offsets [E + 1]
  }
  // A second select is served by the plan memo: the same plan state, hence the same artifact.
  const MoePlan again = MoePlan::select(descriptor(variant, format, element), arch(target));
  EXPECT_EQ(&plan_artifact(again), &artifact);
  EXPECT_EQ(&PlanAccess::state(again), &PlanAccess::state(plan));
}

TEST_P(SelectWithoutDevice, RunChecksArgumentsThenNeedsADevice) {
  const auto& [variant, format, element, target] = GetParam();
  const MoePlan plan = MoePlan::select(descriptor(variant, format, element), arch(target));
  const std::size_t ws = plan.workspace_size();
  void* workspace = ws > 0 ? reinterpret_cast<void*>(0x900000) : nullptr;
  MoeArgs bad = args_for(plan);
  bad.output_bytes -= 4;
  EXPECT_TRUE(throws_error([&] { plan.run(nullptr, workspace, ws, bad); },
                           ErrorCode::InvalidProblem, {"MoeArgs::output"}));
  if (ws > 0) {
    EXPECT_TRUE(throws_error([&] { plan.run(nullptr, nullptr, 0, args_for(plan)); },
                             ErrorCode::InvalidProblem, {"workspace"}));
  }
  if (driver::available()) GTEST_SKIP() << "a CUDA device is present; NoDevice is not reachable";
  EXPECT_TRUE(throws_error([&] { plan.run(nullptr, workspace, ws, args_for(plan)); },
                           ErrorCode::NoDevice, {"driver"}));
}

INSTANTIATE_TEST_SUITE_P(
    Variants, SelectWithoutDevice,
    ::testing::Values(std::make_tuple(MoeVariant::Wmma, std::optional<GgufBlockFormat>{},
                                      ElementKind::F16, "sm_90"),
                      std::make_tuple(MoeVariant::WmmaGguf,
                                      std::optional<GgufBlockFormat>{GgufBlockFormat::Q4_K},
                                      ElementKind::Bf16, "sm_80"),
                      std::make_tuple(MoeVariant::ScalarGguf,
                                      std::optional<GgufBlockFormat>{GgufBlockFormat::Q6_K},
                                      ElementKind::F32, "sm_89")),
    [](const auto& info) { return std::string(variant_name(std::get<0>(info.param))); });

}  // namespace
}  // namespace moejit
