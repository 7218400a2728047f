// DeviceBuffer's fills on a device: 16-bit elements of any count (an odd number of 2-byte outputs
// is a whole buffer of f16 / bf16 elements), 32-bit words, bytes, and the refused sizes.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "moejit/error.hpp"
#include "runtime/device_memory.hpp"
#include "tests/gpu/gpu_case.hpp"
#include "tests/runtime/error_matchers.hpp"

namespace moejit::gputest {
namespace {

TEST(DeviceMemory, FillsAnOddCountOfHalves) {
  MOEJIT_REQUIRE_GPU();
  DeviceBuffer b(2 * 77);
  b.fill_halves(0x7FC0u);
  EXPECT_EQ(b.to_host<std::uint16_t>(), std::vector<std::uint16_t>(77, 0x7FC0u));
  b.fill_bytes(0x5Au);
  EXPECT_EQ(b.to_host<std::uint8_t>(), std::vector<std::uint8_t>(2 * 77, 0x5Au));
}

TEST(DeviceMemory, FillsWords) {
  MOEJIT_REQUIRE_GPU();
  DeviceBuffer b(4 * 9);
  b.fill_words(0x7FC00000u);
  EXPECT_EQ(b.to_host<std::uint32_t>(), std::vector<std::uint32_t>(9, 0x7FC00000u));
}

TEST(DeviceMemory, RefusesFillsOfPartialElements) {
  MOEJIT_REQUIRE_GPU();
  DeviceBuffer odd(7);
  EXPECT_TRUE(testing::throws_error([&] { odd.fill_halves(1); }, ErrorCode::InvalidProblem,
                                    {"fill_halves", "7 bytes"}));
  DeviceBuffer halves(6);
  EXPECT_TRUE(testing::throws_error([&] { halves.fill_words(1); }, ErrorCode::InvalidProblem,
                                    {"fill_words", "6 bytes"}));
}

}  // namespace
}  // namespace moejit::gputest
