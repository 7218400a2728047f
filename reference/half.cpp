// IEEE binary16 and bfloat16 <-> binary32 conversions, bit by bit: round to nearest even,
// subnormals kept, infinities kept, NaNs kept as quiet NaNs with their leading payload bits.
#include <bit>
#include <cstdint>

#include "moejit/gguf.hpp"

namespace moejit {
namespace {

constexpr std::uint32_t kF32ExpMask = 0x7F800000u;
constexpr std::uint32_t kF32AbsMask = 0x7FFFFFFFu;
constexpr std::uint32_t kF32Quiet = 0x00400000u;
constexpr std::uint16_t kF16Inf = 0x7C00u;
constexpr std::uint16_t kF16Quiet = 0x0200u;

// Shifts `value` right by `shift` bits, rounding the dropped bits to nearest, ties to even.
std::uint32_t shift_round_even(std::uint32_t value, int shift) {
  const std::uint32_t kept = value >> shift;
  const std::uint32_t dropped = value & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  if (dropped > halfway || (dropped == halfway && (kept & 1u))) return kept + 1u;
  return kept;
}

}  // namespace

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) {
    const std::uint32_t nan_bits = mantissa ? (kF32Quiet | (mantissa << 13)) : 0u;
    return std::bit_cast<float>(sign | kF32ExpMask | nan_bits);
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in binary32.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  return std::bit_cast<float>(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
}

std::uint16_t float_to_half(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t abs = bits & kF32AbsMask;
  if (abs > kF32ExpMask) {  // NaN: quiet, keep the top 9 payload bits
    return static_cast<std::uint16_t>(sign | kF16Inf | kF16Quiet | ((abs >> 13) & 0x3FFu));
  }
  if (abs >= 0x477FF000u) return sign | kF16Inf;  // >= 65520 rounds to infinity
  if (abs >= 0x38800000u) {                       // normal half (>= 2^-14)
    // Rebias the exponent and round the 13 dropped mantissa bits; a carry into the exponent
    // is the correct encoding of the next binade.
    const std::uint32_t rebiased = abs - ((127u - 15u) << 23);
    return static_cast<std::uint16_t>(sign | shift_round_even(rebiased, 13));
  }
  if (abs <= 0x33000000u) return sign;  // <= 2^-25 rounds to (signed) zero
  // Subnormal half: count units of 2^-24. The value is m * 2^(e - 150) with the implicit bit set.
  const std::uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;
  const int shift = 126 - static_cast<int>(abs >> 23);
  return static_cast<std::uint16_t>(sign | shift_round_even(mantissa, shift));
}

float bf16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

std::uint16_t float_to_bf16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & kF32AbsMask) > kF32ExpMask) {  // NaN: quiet, keep the top payload bits
    return static_cast<std::uint16_t>((bits >> 16) | (kF32Quiet >> 16));
  }
  // Rounding the low 16 bits may carry into the exponent, up to infinity: the right result.
  return static_cast<std::uint16_t>(shift_round_even(bits, 16));
}

}  // namespace moejit
