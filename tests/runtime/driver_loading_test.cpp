// The lazily loaded driver: without a driver or device every GPU entry point throws NoDevice with
// advice, nothing crashes, and the queries that must not throw do not.
#include <gtest/gtest.h>

#include "runtime/call_timer.hpp"
#include "runtime/device_memory.hpp"
#include "runtime/driver.hpp"
#include "tests/runtime/error_matchers.hpp"

namespace moejit {
namespace {

using testing::throws_error;

class WithoutDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (driver::available()) GTEST_SKIP() << "a CUDA device is present; these cover its absence";
  }
};

TEST_F(WithoutDevice, CountsZeroDevicesWithoutThrowing) {
  EXPECT_EQ(driver::device_count(), 0);
  EXPECT_FALSE(driver::available());
}

TEST_F(WithoutDevice, DeviceQueriesThrowNoDeviceWithAdvice) {
  EXPECT_TRUE(
      throws_error([] { driver::device_arch(0); }, ErrorCode::NoDevice, {"PlanPreference::arch"}));
  EXPECT_TRUE(throws_error([] { driver::current_or_primary_context(0); }, ErrorCode::NoDevice, {}));
}

TEST_F(WithoutDevice, DeviceMemoryHelpersThrowNoDevice) {
  EXPECT_TRUE(throws_error([] { DeviceBuffer b(64); }, ErrorCode::NoDevice, {}));
  EXPECT_TRUE(throws_error([] { CallTimer t(nullptr, 1); }, ErrorCode::NoDevice, {}));
}

TEST(DriverErrors, DescribeNamesTheResultEvenWithoutADriver) {
  const std::string text = driver::describe(CUDA_ERROR_INVALID_VALUE);
  EXPECT_FALSE(text.empty());
  if (!driver::available()) {
    EXPECT_NE(text.find("1"), std::string::npos) << text;
  } else {
    EXPECT_NE(text.find("CUDA_ERROR_INVALID_VALUE"), std::string::npos) << text;
  }
}

TEST(DriverErrors, CheckNamesTheCallAndKernel) {
  EXPECT_NO_THROW(driver::check(CUDA_SUCCESS, "cuNothing"));
  EXPECT_TRUE(throws_error([] { driver::check(CUDA_ERROR_LAUNCH_FAILED, "cuLaunchKernel", "k:1"); },
                           ErrorCode::CudaError, {"cuLaunchKernel", "k:1"}));
}

}  // namespace
}  // namespace moejit
