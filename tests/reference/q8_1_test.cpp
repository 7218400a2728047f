// quantize_q8_1: the ScalarGguf activation quantizer (d = amax / 127, q = roundf(x * (1 / d)),
// s = half(d * sum q)), its special values, and agreement with the q8_1 block byte format.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gguf_test_util.hpp"
#include "moejit/error.hpp"
#include "moejit/gguf.hpp"

namespace moejit {
namespace {

using testing_gguf::Rng;

std::vector<Q8_1Block> quantize_blocks(const std::vector<float>& x) {
  std::vector<Q8_1Block> out(x.size() / 32);
  quantize_q8_1(x, out);
  return out;
}

TEST(Q8_1, MatchesTheDefinitionOnRandomData) {
  Rng rng(81);
  std::vector<float> x(32 * 64);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = rng.gaussian() * (i / 32 % 4 == 0 ? 1e-3f : 3.0f);
  }
  const auto blocks = quantize_blocks(x);
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const float d = amax / 127.0f;
    const float id = 1.0f / d;
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      const auto q = static_cast<int>(std::round(x[b * 32 + i] * id));
      ASSERT_EQ(blocks[b].qs[i], q) << "block " << b << " value " << i;
      sum += q;
    }
    EXPECT_EQ(blocks[b].d, float_to_half(d));
    EXPECT_EQ(blocks[b].s, float_to_half(d * static_cast<float>(sum)));
  }
}

TEST(Q8_1, ExtremeMapsTo127AndErrorIsHalfAStep) {
  Rng rng(5);
  std::vector<float> x(32 * 16);
  for (float& v : x) v = rng.uniform(-4.0f, 4.0f);
  const auto blocks = quantize_blocks(x);
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    int extreme = 0;
    for (int i = 0; i < 32; ++i) extreme = std::max(extreme, std::abs(int{blocks[b].qs[i]}));
    EXPECT_EQ(extreme, 127);
    const float d = half_to_float(blocks[b].d);
    for (int i = 0; i < 32; ++i) {
      const float x_i = x[b * 32 + i];
      // Half a step, plus what rounding d to half (2^-11 relative) moves the grid by.
      EXPECT_NEAR(static_cast<float>(blocks[b].qs[i]) * d, x_i, d * 0.5f + 128 * d * 0x1p-11f);
      if (blocks[b].qs[i] != 0) {
        EXPECT_EQ(blocks[b].qs[i] > 0, x_i > 0);
      }
    }
  }
}

TEST(Q8_1, RoundsHalfwayAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1 exactly
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  x[4] = -126.5f;
  const auto b = quantize_blocks(x)[0];
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[1], 3);
  EXPECT_EQ(b.qs[2], -3);
  EXPECT_EQ(b.qs[3], 1);
  EXPECT_EQ(b.qs[4], -127);
  EXPECT_EQ(b.s, float_to_half(127.0f + 3 - 3 + 1 - 127));
}

TEST(Q8_1, AllZeroBlockIsZero) {
  const auto b = quantize_blocks(std::vector<float>(32, 0.0f))[0];
  EXPECT_EQ(b.d, 0);
  EXPECT_EQ(b.s, 0);
  for (std::int8_t q : b.qs) EXPECT_EQ(q, 0);
}

TEST(Q8_1, NanStoresZeroAndDoesNotSetTheScale) {
  std::vector<float> x(32, 0.0f);
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[1] = 63.5f;    // amax: d = 0.5
  x[2] = -31.75f;  // -31.75 * 2 = -63.5 rounds away from zero
  const auto b = quantize_blocks(x)[0];
  EXPECT_EQ(b.d, 0x3800);
  EXPECT_EQ(b.qs[0], 0);
  EXPECT_EQ(b.qs[1], 127);
  EXPECT_EQ(b.qs[2], -64);
}

TEST(Q8_1, InfinityGivesAnInfiniteScaleAndZeroQuants) {
  std::vector<float> x(32, 1.0f);
  x[7] = -std::numeric_limits<float>::infinity();
  const auto b = quantize_blocks(x)[0];
  EXPECT_EQ(b.d, 0x7C00);  // half(inf); 1 / inf = 0 makes every quant 0
  for (std::int8_t q : b.qs) EXPECT_EQ(q, 0);
}

TEST(Q8_1, TinyBlocksClampTheirQuantsWhereTheInverseScaleOverflows) {
  // amax = 1e-38: d = amax / 127 is subnormal and 1 / d overflows to infinity, so x * id is
  // +-inf for the largest values and must clamp to +-127 (not wrap); d is 0 in half precision.
  std::vector<float> x(32, 0.0f);
  x[0] = 1e-38f;
  x[1] = -1e-38f;
  x[2] = 1e-45f;  // any nonzero value times an infinite id is infinite
  const auto b = quantize_blocks(x)[0];
  EXPECT_EQ(b.d, 0);
  EXPECT_EQ(b.s, 0);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -127);
  EXPECT_EQ(b.qs[2], 127);
  EXPECT_EQ(b.qs[3], 0);  // 0 * inf is NaN, which quantizes to 0
}

TEST(Q8_1, BlockStructAgreesWithTheByteFormat) {
  Rng rng(3);
  std::vector<float> x(32 * 8);
  for (float& v : x) v = rng.gaussian();
  const auto blocks = quantize_blocks(x);
  std::vector<std::uint8_t> bytes(gguf_bytes(GgufBlockFormat::Q8_1, x.size()));
  quantize(GgufBlockFormat::Q8_1, x, bytes);
  ASSERT_EQ(bytes.size(), blocks.size() * sizeof(Q8_1Block));
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const std::uint8_t* p = bytes.data() + b * 36;
    EXPECT_EQ(p[0] | (p[1] << 8), blocks[b].d);
    EXPECT_EQ(p[2] | (p[3] << 8), blocks[b].s);
    EXPECT_EQ(std::memcmp(p + 4, blocks[b].qs, 32), 0);
  }
  std::vector<float> y(x.size());
  dequantize(GgufBlockFormat::Q8_1, bytes, y);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const auto& blk = blocks[i / 32];
    ASSERT_EQ(y[i], static_cast<float>(blk.qs[i % 32]) * half_to_float(blk.d));
  }
}

TEST(Q8_1, SizeMismatchIsRejected) {
  std::vector<float> x(64, 1.0f);
  std::vector<Q8_1Block> one(1), two(2);
  EXPECT_NO_THROW(quantize_q8_1(x, two));
  try {
    quantize_q8_1(x, one);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("need 2 blocks"), std::string::npos) << e.what();
  }
  x.resize(40);
  EXPECT_THROW(quantize_q8_1(x, one), Error);
}

}  // namespace
}  // namespace moejit
