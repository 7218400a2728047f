// Byte-level building blocks shared by the GGUF encoders and decoders: little-endian field access,
// the field offsets of every block layout, scale packing, and ggml's integer rounding rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "moejit/gguf.hpp"
#include "moejit/types.hpp"

namespace moejit::gguf_io {

inline constexpr int kSuperBlock = 256;  // QK_K: elements of one k-quant super-block

// Field offsets in bytes inside one block (ggml-common.h). The static_asserts tie each layout's
// last field to the block size in kBlockLayouts, the one table of block sizes.
namespace q4_0 {
inline constexpr int kD = 0, kQs = 2;
}
namespace q4_1 {
inline constexpr int kD = 0, kM = 2, kQs = 4;
}
namespace q5_0 {
inline constexpr int kD = 0, kQh = 2, kQs = 6;
}
namespace q5_1 {
inline constexpr int kD = 0, kM = 2, kQh = 4, kQs = 8;
}
namespace q8_0 {
inline constexpr int kD = 0, kQs = 2;
}
namespace q8_1 {
inline constexpr int kD = 0, kS = 2, kQs = 4;
}
namespace q2_k {
inline constexpr int kScales = 0, kQs = 16, kD = 80, kDmin = 82;
}
namespace q3_k {
inline constexpr int kHmask = 0, kQs = 32, kScales = 96, kD = 108;
}
namespace q4_k {
inline constexpr int kD = 0, kDmin = 2, kScales = 4, kQs = 16;
}
namespace q5_k {
inline constexpr int kD = 0, kDmin = 2, kScales = 4, kQh = 16, kQs = 48;
}
namespace q6_k {
inline constexpr int kQl = 0, kQh = 128, kScales = 192, kD = 208;
}

constexpr int bytes_of(GgufBlockFormat f) { return block_layout(f).block_bytes; }
constexpr int elems_of(GgufBlockFormat f) { return block_layout(f).block_elems; }

static_assert(q4_0::kQs + elems_of(GgufBlockFormat::Q4_0) / 2 == bytes_of(GgufBlockFormat::Q4_0));
static_assert(q4_1::kQs + elems_of(GgufBlockFormat::Q4_1) / 2 == bytes_of(GgufBlockFormat::Q4_1));
static_assert(q5_0::kQs + elems_of(GgufBlockFormat::Q5_0) / 2 == bytes_of(GgufBlockFormat::Q5_0));
static_assert(q5_1::kQs + elems_of(GgufBlockFormat::Q5_1) / 2 == bytes_of(GgufBlockFormat::Q5_1));
static_assert(q8_0::kQs + elems_of(GgufBlockFormat::Q8_0) == bytes_of(GgufBlockFormat::Q8_0));
static_assert(q8_1::kQs + elems_of(GgufBlockFormat::Q8_1) == bytes_of(GgufBlockFormat::Q8_1));
static_assert(q2_k::kDmin + 2 == bytes_of(GgufBlockFormat::Q2_K));
static_assert(q3_k::kD + 2 == bytes_of(GgufBlockFormat::Q3_K));
static_assert(q4_k::kQs + kSuperBlock / 2 == bytes_of(GgufBlockFormat::Q4_K));
static_assert(q5_k::kQs + kSuperBlock / 2 == bytes_of(GgufBlockFormat::Q5_K));
static_assert(q6_k::kD + 2 == bytes_of(GgufBlockFormat::Q6_K));
static_assert(elems_of(GgufBlockFormat::Q2_K) == kSuperBlock &&
              elems_of(GgufBlockFormat::Q6_K) == kSuperBlock);

inline std::uint16_t load_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline void store_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v & 0xFF);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF);
}
inline float load_half(const std::uint8_t* p) { return half_to_float(load_u16(p)); }
inline void store_half(std::uint8_t* p, float v) { store_u16(p, float_to_half(v)); }

// Round to nearest, ties to even, as ggml's nearest_int: adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits. Exact for |v| < 2^22; defined (not UB) for any input.
inline int round_to_int(float v) {
  const float biased = v + 12582912.0f;
  std::int32_t bits;
  std::memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007FFFFF) - 0x00400000;
}

// C's (int8_t)/(uint8_t) cast of a float as ggml's x86 build performs it: truncate to a 32-bit
// integer (NaN and out-of-range give INT32_MIN, whose low byte is 0), then keep the low byte.
inline int truncate_low_byte(float v) {
  if (!(v > -2147483648.0f && v < 2147483648.0f)) return 0;
  return static_cast<int>(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)) & 0xFF);
}

// Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
inline void unpack_scale_min_k4(const std::uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q3_K: 6-bit scale t (0..15, still biased by 32) from the 12 packed bytes.
inline int unpack_scale_q3_k(const std::uint8_t* s, int t) {
  const int low = t < 8 ? (s[t] & 0x0F) : (s[t - 8] >> 4);
  const int high = (s[8 + t % 4] >> (2 * (t / 4))) & 3;
  return low | (high << 4);
}

// Whole blocks described by n_bytes of blocks and n_elems values; throws Error(InvalidProblem)
// naming `op` when either is not a whole number of blocks or the two disagree.
std::size_t checked_block_count(GgufBlockFormat f, std::size_t n_bytes, std::size_t n_elems,
                                std::string_view op);

// Per-block codecs, dispatched by dequantize() and quantize().
void decode_block(GgufBlockFormat f, const std::uint8_t* block, float* y);
void encode_q2_k(const float* x, std::uint8_t* block);
void encode_q3_k(const float* x, std::uint8_t* block);
void encode_q4_k(const float* x, std::uint8_t* block);
void encode_q5_k(const float* x, std::uint8_t* block);
void encode_q6_k(const float* x, std::uint8_t* block);

}  // namespace moejit::gguf_io
