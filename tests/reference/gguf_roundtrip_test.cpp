// quantize -> dequantize round trips: error bounds per format and data distribution, exact
// representable inputs, ggml's own synthetic-signal error limits, and the size checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gguf_test_util.hpp"
#include "moejit/error.hpp"
#include "moejit/gguf.hpp"

namespace moejit {
namespace {

using testing_gguf::Rng;

enum class Dist { Uniform, Gaussian, HeavyTailed, Zero, Constant };

std::vector<float> make_data(Dist dist, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (float& v : x) {
    switch (dist) {
      case Dist::Uniform:
        v = rng.uniform(-1.0f, 1.0f);
        break;
      case Dist::Gaussian:
        v = rng.gaussian();
        break;
      case Dist::HeavyTailed:  // gaussian with one value in 64 blown up 20x
        v = rng.gaussian() * ((rng.next() % 64 == 0) ? 20.0f : 1.0f);
        break;
      case Dist::Zero:
        v = 0.0f;
        break;
      case Dist::Constant:
        v = 0.7f;
        break;
    }
  }
  return x;
}

std::vector<float> round_trip(GgufBlockFormat f, const std::vector<float>& x) {
  std::vector<std::uint8_t> blocks(gguf_bytes(f, x.size()));
  quantize(f, x, blocks);
  std::vector<float> y(x.size());
  dequantize(f, blocks, y);
  return y;
}

// RMS error relative to the RMS of the data.
double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0.0, ref = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

// Relative RMSE limits, about 1.25x what ggml's reference algorithms reach on this data: each
// bit fewer roughly doubles the error; outliers hurt the formats without a per-block min most.
struct Bound {
  GgufBlockFormat format;
  double uniform, gaussian, heavy;
};
constexpr Bound kBounds[] = {
    {GgufBlockFormat::Q8_0, 0.0050, 0.0070, 0.015}, {GgufBlockFormat::Q6_K, 0.017, 0.023, 0.042},
    {GgufBlockFormat::Q5_1, 0.037, 0.048, 0.074},   {GgufBlockFormat::Q5_0, 0.040, 0.055, 0.115},
    {GgufBlockFormat::Q5_K, 0.035, 0.046, 0.069},   {GgufBlockFormat::Q4_1, 0.078, 0.100, 0.158},
    {GgufBlockFormat::Q4_0, 0.083, 0.109, 0.200},   {GgufBlockFormat::Q4_K, 0.070, 0.091, 0.133},
    {GgufBlockFormat::Q3_K, 0.159, 0.193, 0.216},   {GgufBlockFormat::Q2_K, 0.295, 0.383, 0.399},
};

class RoundTrip : public ::testing::TestWithParam<Bound> {};

TEST_P(RoundTrip, ErrorWithinBoundsPerDistribution) {
  const Bound& b = GetParam();
  constexpr std::size_t kN = 4096;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    EXPECT_LT(relative_rmse(make_data(Dist::Uniform, kN, seed),
                            round_trip(b.format, make_data(Dist::Uniform, kN, seed))),
              b.uniform);
    EXPECT_LT(relative_rmse(make_data(Dist::Gaussian, kN, seed),
                            round_trip(b.format, make_data(Dist::Gaussian, kN, seed))),
              b.gaussian);
    EXPECT_LT(relative_rmse(make_data(Dist::HeavyTailed, kN, seed),
                            round_trip(b.format, make_data(Dist::HeavyTailed, kN, seed))),
              b.heavy);
  }
}

TEST_P(RoundTrip, ZeroIsExactAndConstantIsNearlyExact) {
  const GgufBlockFormat f = GetParam().format;
  for (float v : round_trip(f, make_data(Dist::Zero, 512, 0))) ASSERT_EQ(v, 0.0f);
  const auto constant = make_data(Dist::Constant, 512, 0);
  const auto y = round_trip(f, constant);
  // Only the half-precision rounding of the block scales remains (2^-11 relative, plus a step).
  for (float v : y) ASSERT_NEAR(v, 0.7f, 0.7f * 1e-3f);
}

TEST_P(RoundTrip, BlocksAreIndependentOfTheirNeighbours) {
  const GgufBlockFormat f = GetParam().format;
  const auto elems = static_cast<std::size_t>(block_layout(f).block_elems);
  const auto bytes = static_cast<std::size_t>(block_layout(f).block_bytes);
  const auto x = make_data(Dist::HeavyTailed, 4 * elems, 7);
  std::vector<std::uint8_t> together(gguf_bytes(f, x.size()));
  quantize(f, x, together);
  for (std::size_t b = 0; b < 4; ++b) {
    std::vector<std::uint8_t> alone(bytes);
    quantize(f, std::span<const float>(x).subspan(b * elems, elems), alone);
    ASSERT_TRUE(std::equal(alone.begin(), alone.end(), together.begin() + b * bytes)) << b;
  }
}

INSTANTIATE_TEST_SUITE_P(WeightFormats, RoundTrip, ::testing::ValuesIn(kBounds),
                         [](const auto& info) {
                           return std::string(format_name(info.param.format));
                         });

// ggml's test-quantize-fns signal 0.1 + 2 cos(i) over 4096 values, with its limits on
// sqrt(sum of squared errors) / n: 0.0075 for 2 bits, 0.004 for 3 bits, 0.002 otherwise.
TEST(RoundTripGgmlSignal, WithinGgmlSuiteLimits) {
  std::vector<float> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(0.1 + 2 * std::cos(static_cast<double>(i)));
  }
  for (GgufBlockFormat f : kWeightFormats) {
    const auto y = round_trip(f, x);
    double sum = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
    const double limit = f == GgufBlockFormat::Q2_K   ? 0.0075
                         : f == GgufBlockFormat::Q3_K ? 0.004
                                                      : 0.002;
    EXPECT_LT(std::sqrt(sum) / static_cast<double>(x.size()), limit) << format_name(f);
  }
}

TEST(RoundTripOrdering, MoreBitsGiveLessErrorOnGaussianData) {
  const auto x = make_data(Dist::Gaussian, 8192, 11);
  auto err = [&](GgufBlockFormat f) { return relative_rmse(x, round_trip(f, x)); };
  using F = GgufBlockFormat;
  EXPECT_GT(err(F::Q2_K), err(F::Q3_K));
  EXPECT_GT(err(F::Q3_K), err(F::Q4_K));
  EXPECT_GT(err(F::Q4_K), err(F::Q5_K));
  EXPECT_GT(err(F::Q5_K), err(F::Q6_K));
  EXPECT_GT(err(F::Q6_K), err(F::Q8_0));
  EXPECT_GT(err(F::Q4_0), err(F::Q5_0));
  EXPECT_GT(err(F::Q4_1), err(F::Q5_1));
}

// Integers the scale maps exactly (the extreme value pins d to 1) survive unchanged.
TEST(RoundTripExact, RepresentableIntegersSurvive) {
  struct Range {
    GgufBlockFormat f;
    int lo, hi, extreme;
  };
  for (const Range& r :
       {Range{GgufBlockFormat::Q4_0, -8, 7, -8}, Range{GgufBlockFormat::Q5_0, -16, 15, -16},
        Range{GgufBlockFormat::Q4_1, 0, 15, 15}, Range{GgufBlockFormat::Q5_1, 0, 31, 31},
        Range{GgufBlockFormat::Q8_0, -127, 127, 127},
        Range{GgufBlockFormat::Q8_1, -127, 127, -127}}) {
    Rng rng(static_cast<std::uint64_t>(r.hi));
    std::vector<float> x(64);
    for (float& v : x) v = static_cast<float>(rng.range(r.lo, r.hi));
    x[3] = static_cast<float>(r.extreme);
    x[40] = static_cast<float>(r.extreme);
    x[5] = static_cast<float>(r.lo);  // the affine formats need min = 0 exactly
    x[37] = static_cast<float>(r.lo);
    EXPECT_EQ(round_trip(r.f, x), x) << format_name(r.f);
  }
}

// Blocks worked out by hand from ggml's reference rules.
TEST(QuantizeLiteral, Q4_0AndQ8_0Bytes) {
  std::vector<float> x(32, 0.0f);
  x[0] = -8.0f;  // largest magnitude, negative: d = -8 / -8 = 1, its quant (-8 + 8.5) -> 0
  x[16] = 7.0f;  // (7 + 8.5) -> 15
  x[1] = 3.0f;   // (3 + 8.5) -> 11; zeros -> 8
  std::vector<std::uint8_t> q4(18);
  quantize(GgufBlockFormat::Q4_0, x, q4);
  std::vector<std::uint8_t> expected(18, 0x88);
  expected[0] = 0x00;
  expected[1] = 0x3C;  // half(1)
  expected[2] = 0xF0;  // element 0 low nibble 0, element 16 high nibble 15
  expected[3] = 0x8B;  // element 1 low nibble 11, element 17 high nibble 8
  EXPECT_EQ(q4, expected);

  x.assign(32, 0.0f);
  x[0] = -31.75f;  // amax: d = 31.75 / 127 = 0.25
  x[1] = 0.3f;     // round(1.2) = 1
  x[2] = 0.375f;   // round(1.5) = 2, away from zero
  std::vector<std::uint8_t> q8(34);
  quantize(GgufBlockFormat::Q8_0, x, q8);
  EXPECT_EQ(q8[0], 0x00);
  EXPECT_EQ(q8[1], 0x34);  // half(0.25)
  EXPECT_EQ(static_cast<std::int8_t>(q8[2]), -127);
  EXPECT_EQ(q8[3], 1);
  EXPECT_EQ(q8[4], 2);
}

TEST(GgufSizes, BytesAndErrors) {
  EXPECT_EQ(gguf_bytes(GgufBlockFormat::Q4_0, 64), 36u);
  EXPECT_EQ(gguf_bytes(GgufBlockFormat::Q6_K, 512), 420u);
  EXPECT_EQ(gguf_bytes(GgufBlockFormat::Q8_1, 0), 0u);
  try {
    gguf_bytes(GgufBlockFormat::Q4_K, 300);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("256-element"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("44 left over"), std::string::npos) << e.what();
  }
}

std::string error_of(auto&& call) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    return e.what();
  }
  ADD_FAILURE() << "expected moejit::Error";
  return {};
}

TEST(GgufSizes, MismatchedSpansAreRejectedWithTheReason) {
  std::vector<std::uint8_t> blocks(144 * 2 + 7);
  std::vector<float> values(512);
  auto msg = error_of([&] { dequantize(GgufBlockFormat::Q4_K, blocks, values); });
  EXPECT_NE(msg.find("295 bytes is not a whole number of 144-byte blocks"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("7 bytes left over"), std::string::npos) << msg;

  blocks.resize(144 * 2);
  values.resize(256);
  msg = error_of([&] { dequantize(GgufBlockFormat::Q4_K, blocks, values); });
  EXPECT_NE(msg.find("2 blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("512 values"), std::string::npos) << msg;

  values.resize(100);
  msg = error_of([&] { quantize(GgufBlockFormat::Q4_K, values, blocks); });
  EXPECT_NE(msg.find("quantize q4_k"), std::string::npos) << msg;
  EXPECT_NE(msg.find("100 values is not a whole number of 256-value blocks"), std::string::npos)
      << msg;
}

TEST(GgufSizes, NonFiniteInputIsRejected) {
  std::vector<float> x(32, 1.0f);
  std::vector<std::uint8_t> blocks(gguf_bytes(GgufBlockFormat::Q8_0, 32));
  x[9] = std::numeric_limits<float>::quiet_NaN();
  auto msg = error_of([&] { quantize(GgufBlockFormat::Q8_0, x, blocks); });
  EXPECT_NE(msg.find("value 9"), std::string::npos) << msg;
  x[9] = -std::numeric_limits<float>::infinity();
  msg = error_of([&] { quantize(GgufBlockFormat::Q8_0, x, blocks); });
  EXPECT_NE(msg.find("finite"), std::string::npos) << msg;
}

TEST(GgufSizes, EmptyBuffersAreFine) {
  std::vector<std::uint8_t> blocks;
  std::vector<float> values;
  for (const auto& layout : kBlockLayouts) {
    EXPECT_NO_THROW(quantize(layout.format, values, blocks));
    EXPECT_NO_THROW(dequantize(layout.format, blocks, values));
  }
}

}  // namespace
}  // namespace moejit
