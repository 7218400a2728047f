// The umbrella header alone gives the whole plan API, with no CUDA type in it, and plans are
// cheap shared handles.
#include <gtest/gtest.h>

#include <type_traits>

#include "moejit/moejit.hpp"

namespace moejit {
namespace {

static_assert(std::is_same_v<Stream, void*>, "streams cross the API as opaque pointers");
static_assert(std::is_copy_constructible_v<MoePlan> &&
                  std::is_nothrow_move_constructible_v<MoePlan>,
              "a plan is a shared handle: copies share one kernel");
static_assert(!std::is_default_constructible_v<MoePlan>, "plans come from MoePlan::select");
static_assert(std::is_aggregate_v<MoeDescriptor> && std::is_aggregate_v<MoeArgs> &&
                  std::is_aggregate_v<PlanPreference>,
              "descriptors and arguments are plain aggregates");

TEST(PublicApi, DefaultDescriptorIsRejectedAsIncomplete) {
  try {
    MoePlan::select(MoeDescriptor{});
    FAIL() << "an all-zero descriptor was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem) << e.what();
    EXPECT_NE(std::string(e.what()).find("num_experts"), std::string::npos) << e.what();
  }
}

TEST(PublicApi, DefaultArgsDescribeNoBuffers) {
  const MoeArgs args;
  EXPECT_EQ(args.activations, nullptr);
  EXPECT_EQ(args.topk_weights, nullptr);
  EXPECT_EQ(args.size_m, 0u);
  const PlanPreference pref;
  EXPECT_FALSE(pref.arch.has_value());
  EXPECT_EQ(pref.stream, nullptr);
}

}  // namespace
}  // namespace moejit
