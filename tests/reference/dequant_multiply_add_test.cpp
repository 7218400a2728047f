// The arithmetic identity behind the tensor-core kernels' dequantization of the formats without a
// min term (templates/formats/dequant.cuh, detail::scale8): a code b placed in the mantissa of
// 2.0 is B = 2 + b / u, and fma(B, u * d, -(2u + bias) * d) rounds to exactly ggml's
// f32(b - bias) * d. Checked here on the host, with the same IEEE operations, for every finite
// half scale d of q4_0, q5_0 and q8_0 and every code, and for the products d * sc of q6_K and
// d * (S - 32) of q3_K over all their small factors (every half for one in eight of them).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "moejit/gguf.hpp"

namespace moejit {
namespace {

// Counts the codes b < 2^code_bits whose multiply-add result differs from ggml's product (zeros of
// either sign are equal: the kernel may give +0 where ggml gives -0).
int mismatches(float d, int bias, int code_bits) {
  const float unit = code_bits == 7 ? 64.0f : 16384.0f;
  const int shift = code_bits == 7 ? 16 : 8;  // byte 2, or byte 1 for 8-bit codes
  const float s = d * unit;
  const float c = d * -(2.0f * unit + static_cast<float>(bias));
  int bad = 0;
  for (int b = 0; b < (1 << code_bits); ++b) {
    const float big = std::bit_cast<float>(0x40000000u | (static_cast<std::uint32_t>(b) << shift));
    const float got = std::fma(big, s, c);
    const float want = static_cast<float>(b - bias) * d;
    if (std::bit_cast<std::uint32_t>(got) != std::bit_cast<std::uint32_t>(want) &&
        !(got == 0.0f && want == 0.0f))
      ++bad;
  }
  return bad;
}

TEST(DequantMultiplyAdd, PlacedCodesDecodeToTheCodeValue) {
  EXPECT_EQ(std::bit_cast<float>(0x40000000u | (37u << 16)), 2.0f + 37.0f / 64.0f);
  EXPECT_EQ(std::bit_cast<float>(0x40000000u | (200u << 8)), 2.0f + 200.0f / 16384.0f);
}

TEST(DequantMultiplyAdd, HalfScalesOfTheThirtyTwoElementFormats) {
  long long bad = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float d = half_to_float(static_cast<std::uint16_t>(h));
    if (!std::isfinite(d)) continue;
    bad += mismatches(d, 8, 7);    // q4_0
    bad += mismatches(d, 16, 7);   // q5_0
    bad += mismatches(d, 128, 8);  // q8_0 (codes stored + 128)
  }
  EXPECT_EQ(bad, 0);
}

TEST(DequantMultiplyAdd, SubBlockScalesOfQ6KAndQ3K) {
  long long bad = 0;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float d = half_to_float(static_cast<std::uint16_t>(h));
    if (!std::isfinite(d)) continue;
    const bool every = h % 8 == 0;
    for (int sc = -128; sc < 128; sc += every ? 1 : 29) bad += mismatches(d * sc, 32, 7);  // q6_K
    for (int s = 0; s < 64; s += every ? 1 : 11)
      bad += mismatches(d * (static_cast<float>(s) - 32.0f), 4, 7);  // q3_K
  }
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace moejit
