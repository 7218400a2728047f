// Test-side arithmetic for the GGUF suites: one rounded f32 operation per call (never fused),
// exact half decoding independent of the library, and a small deterministic generator.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace moejit::testing_gguf {

// Each result goes through a volatile store, so the compiler cannot contract two steps.
inline float f32_mul(float a, float b) {
  volatile float r = a * b;
  return r;
}
inline float f32_add(float a, float b) {
  volatile float r = a + b;
  return r;
}
inline float f32_sub(float a, float b) {
  volatile float r = a - b;
  return r;
}

// The exact value of a finite IEEE binary16 bit pattern.
inline float half_bits_value(std::uint16_t h) {
  const double sign = (h >> 15) ? -1.0 : 1.0;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  if (exponent == 0) return static_cast<float>(sign * std::ldexp(mantissa, -24));
  return static_cast<float>(sign * std::ldexp(1024 + mantissa, exponent - 25));
}

inline void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v & 0xFF);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}

// xorshift64*: small, deterministic, good enough for test data.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform integer in [lo, hi].
  int range(int lo, int hi) {
    return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  // Uniform float in [0, 1).
  float unit() { return static_cast<float>(next() >> 40) * 0x1p-24f; }
  float uniform(float lo, float hi) { return lo + (hi - lo) * unit(); }
  // Standard normal (Box-Muller).
  float gaussian() {
    const double u1 = (static_cast<double>(next() >> 11) + 1.0) * 0x1p-53;
    const double u2 = static_cast<double>(next() >> 11) * 0x1p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  // A finite half with a moderate exponent and either sign: a realistic block scale whose
  // mantissa makes the f32 products round.
  std::uint16_t scale_half(bool allow_negative = true) {
    const auto magnitude = static_cast<std::uint16_t>(0x1400 + next() % 0x2800);
    return (allow_negative && (next() & 1)) ? static_cast<std::uint16_t>(magnitude | 0x8000)
                                            : magnitude;
  }

 private:
  std::uint64_t state_;
};

}  // namespace moejit::testing_gguf
