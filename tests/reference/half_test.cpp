// half/bf16 conversions: known values, round-to-nearest-even at every rounding boundary,
// subnormals, infinities and NaNs, checked against the compiler's _Float16 where it has one.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "moejit/gguf.hpp"

namespace moejit {
namespace {

std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }

// The exact value of a finite half from its fields, in double.
double half_value(std::uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

bool is_half_nan(std::uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }

TEST(Half, KnownValues) {
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(0.5f), 0x3800);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(0x1.ff8p-15f), 0x03FF);
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0x3555), 0x1.554p-2f);
  EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(half_to_float(0x83FF), -0x1.ff8p-15f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(bits_of(half_to_float(0x8000)), 0x80000000u);
}

TEST(Half, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3C00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_EQ(float_to_half(std::nextafter(1.0f + 0x1p-11f, 2.0f)), 0x3C01);
  // Mantissa carry into the exponent: just below 2 rounds up to 2.
  EXPECT_EQ(float_to_half(std::nextafter(2.0f, 0.0f)), 0x4000);
  // Subnormal ties: 2^-25 (half of the smallest subnormal) goes to 0, 3 * 2^-25 to 2 * 2^-24.
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);
  EXPECT_EQ(float_to_half(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(float_to_half(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(float_to_half(-0x1p-26f), 0x8000);
  // Largest subnormal plus half an ulp rounds into the smallest normal.
  EXPECT_EQ(float_to_half(0x1p-14f - 0x1p-25f), 0x0400);
}

TEST(Half, OverflowInfinityAndNan) {
  EXPECT_EQ(float_to_half(65519.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);  // the tie above 65504 rounds to infinity
  EXPECT_EQ(float_to_half(-1e10f), 0xFC00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_TRUE(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(is_half_nan(float_to_half(std::bit_cast<float>(0x7F800001u))));  // payload low
  EXPECT_TRUE(is_half_nan(float_to_half(std::bit_cast<float>(0xFF800001u))));
  EXPECT_EQ(float_to_half(std::bit_cast<float>(0xFF800001u)) & 0x8000, 0x8000);
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_LT(half_to_float(0xFC00), 0.0f);
  EXPECT_TRUE(std::isnan(half_to_float(0x7C01)));
  EXPECT_TRUE(std::isnan(half_to_float(0xFE00)));
}

TEST(Half, EveryHalfRoundTripsExactly) {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const float f = half_to_float(half);
    if (is_half_nan(half)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_TRUE(is_half_nan(float_to_half(f))) << std::hex << h;
      continue;
    }
    if ((half & 0x7C00) != 0x7C00) {
      ASSERT_EQ(static_cast<double>(f), half_value(half)) << std::hex << h;
    }
    ASSERT_EQ(float_to_half(f), half) << std::hex << h;
  }
}

// Every midpoint between two adjacent finite halves, and the floats right next to it, round to
// the nearer half (the even one at the midpoint itself).
TEST(Half, EveryRoundingBoundary) {
  for (std::uint16_t h = 0; h < 0x7BFF; ++h) {
    const double lo = half_value(h), hi = half_value(static_cast<std::uint16_t>(h + 1));
    const auto mid = static_cast<float>((lo + hi) / 2);  // exact: 12 significant bits
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    const std::uint16_t even = (h & 1) ? static_cast<std::uint16_t>(h + 1) : h;
    ASSERT_EQ(float_to_half(mid), even) << std::hex << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 1e9f)), h + 1) << std::hex << h;
    ASSERT_EQ(float_to_half(-mid), even | 0x8000) << std::hex << h;
  }
}

#ifdef __FLT16_MANT_DIG__
// The compiler's own binary16 conversion agrees on a spread of floats across every exponent.
TEST(Half, AgreesWithCompilerFloat16) {
  for (std::uint64_t b = 0; b <= 0xFFFFFFFFull; b += 4093) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(b));
    if (std::isnan(f)) continue;
    const auto expected = std::bit_cast<std::uint16_t>(static_cast<_Float16>(f));
    ASSERT_EQ(float_to_half(f), expected) << std::hex << b;
  }
}
#endif

TEST(Bf16, KnownValuesAndTies) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_float(0x4049), 0x1.92p1f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0); 1 + 3 * 2^-8 goes up.
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);
  EXPECT_EQ(float_to_bf16(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3F81);
  // Subnormals round like normals; the largest finite float rounds up to infinity.
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00018000u)), 0x0002);
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00008000u)), 0x0000);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(float_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  const std::uint16_t nan = float_to_bf16(std::bit_cast<float>(0x7F800001u));
  EXPECT_TRUE((nan & 0x7F80) == 0x7F80 && (nan & 0x7F) != 0);
  EXPECT_TRUE(std::isnan(bf16_to_float(0xFFC1)));
}

TEST(Bf16, EveryBf16RoundTripsAndRandomFloatsRoundToNearest) {
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = bf16_to_float(static_cast<std::uint16_t>(b));
    ASSERT_EQ(bits_of(f), b << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(float_to_bf16(f), b) << std::hex << b;
    }
  }
  std::uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float f = std::bit_cast<float>(state);
    if (!std::isfinite(f) || (state & 0x7FFF0000u) == 0x7F7F0000u) continue;  // next is inf
    const std::uint16_t down = static_cast<std::uint16_t>(state >> 16);
    const double lo = bf16_to_float(down), hi = bf16_to_float(static_cast<std::uint16_t>(down + 1));
    const double dist_lo = std::fabs(f - lo), dist_hi = std::fabs(hi - f);
    const std::uint16_t expected = dist_lo < dist_hi ? down
                                   : dist_hi < dist_lo
                                       ? static_cast<std::uint16_t>(down + 1)
                                       : static_cast<std::uint16_t>((down & 1) ? down + 1 : down);
    ASSERT_EQ(float_to_bf16(f), expected) << std::hex << state;
  }
}

}  // namespace
}  // namespace moejit
