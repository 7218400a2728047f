// Dequantization of every GGUF block format, bit-exact with ggml's dequantize_row_*: each step is
// one f32 operation in ggml's order (this library is compiled with -ffp-contract=off).
#include <cstdint>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "reference/gguf_block_io.hpp"

namespace moejit {
namespace gguf_io {
namespace {

using u8 = std::uint8_t;

// Low nibble of qs[i] for the first half of a 32-value block, high nibble for the second half.
int nibble_of(const u8* qs, int i) { return i < 16 ? (qs[i] & 0x0F) : (qs[i - 16] >> 4); }

void decode_q4_0(const u8* b, float* y) {
  const float d = load_half(b + q4_0::kD);
  for (int i = 0; i < 32; ++i) {
    const int q = nibble_of(b + q4_0::kQs, i) - 8;
    y[i] = static_cast<float>(q) * d;
  }
}

void decode_q4_1(const u8* b, float* y) {
  const float d = load_half(b + q4_1::kD);
  const float m = load_half(b + q4_1::kM);
  for (int i = 0; i < 32; ++i) {
    const float scaled = static_cast<float>(nibble_of(b + q4_1::kQs, i)) * d;
    y[i] = scaled + m;
  }
}

// Five-bit value of element i: the nibble plus bit i of the little-endian 32-bit qh.
int five_bit_of(const u8* qh, const u8* qs, int i) {
  const std::uint32_t high = (load_u32(qh) >> i) & 1u;
  return nibble_of(qs, i) | static_cast<int>(high << 4);
}

void decode_q5_0(const u8* b, float* y) {
  const float d = load_half(b + q5_0::kD);
  for (int i = 0; i < 32; ++i) {
    const int q = five_bit_of(b + q5_0::kQh, b + q5_0::kQs, i) - 16;
    y[i] = static_cast<float>(q) * d;
  }
}

void decode_q5_1(const u8* b, float* y) {
  const float d = load_half(b + q5_1::kD);
  const float m = load_half(b + q5_1::kM);
  for (int i = 0; i < 32; ++i) {
    const float scaled = static_cast<float>(five_bit_of(b + q5_1::kQh, b + q5_1::kQs, i)) * d;
    y[i] = scaled + m;
  }
}

// Q8_0 and Q8_1 share the value layout: int8 quants times d.
void decode_int8(const u8* d_field, const u8* qs, float* y) {
  const float d = load_half(d_field);
  for (int i = 0; i < 32; ++i) y[i] = static_cast<float>(static_cast<std::int8_t>(qs[i])) * d;
}

// Q2_K: i = 128h + 32j + l; two-bit q at bits 2j of qs[32h + l]; 4-bit scale and min per 16.
void decode_q2_k(const u8* b, float* y) {
  const float d = load_half(b + q2_k::kD);
  const float dmin = load_half(b + q2_k::kDmin);
  const u8* qs = b + q2_k::kQs;
  for (int i = 0; i < kSuperBlock; ++i) {
    const int h = i / 128, j = (i / 32) % 4, l = i % 32;
    const int q = (qs[32 * h + l] >> (2 * j)) & 3;
    const int sc = b[q2_k::kScales + i / 16];
    const float dl = d * static_cast<float>(sc & 0x0F);
    const float ml = dmin * static_cast<float>(sc >> 4);
    const float scaled = dl * static_cast<float>(q);
    y[i] = scaled - ml;
  }
}

// Q3_K: low two bits as Q2_K, high bit l of hmask byte l at bit 4h + j; missing bit means -4.
void decode_q3_k(const u8* b, float* y) {
  const float d = load_half(b + q3_k::kD);
  const u8* qs = b + q3_k::kQs;
  const u8* hmask = b + q3_k::kHmask;
  for (int i = 0; i < kSuperBlock; ++i) {
    const int h = i / 128, j = (i / 32) % 4, l = i % 32;
    const int low = (qs[32 * h + l] >> (2 * j)) & 3;
    const int high = (hmask[l] >> (4 * h + j)) & 1;
    const int q = low - (high ? 0 : 4);
    const int scale = unpack_scale_q3_k(b + q3_k::kScales, i / 16) - 32;
    const float dl = d * static_cast<float>(scale);
    y[i] = dl * static_cast<float>(q);
  }
}

// Q4_K / Q5_K: i = 64c + 32t + l; nibble t of qs[32c + l]; Q5_K adds 16 * bit (i/32) of qh[l].
void decode_q45_k(const u8* b, float* y, bool five_bit) {
  const int off_d = five_bit ? q5_k::kD : q4_k::kD;
  const int off_dmin = five_bit ? q5_k::kDmin : q4_k::kDmin;
  const int off_scales = five_bit ? q5_k::kScales : q4_k::kScales;
  const u8* qs = b + (five_bit ? q5_k::kQs : q4_k::kQs);
  const float d = load_half(b + off_d);
  const float dmin = load_half(b + off_dmin);
  for (int i = 0; i < kSuperBlock; ++i) {
    const int c = i / 64, t = (i / 32) % 2, l = i % 32, sub = i / 32;
    int q = t == 0 ? (qs[32 * c + l] & 0x0F) : (qs[32 * c + l] >> 4);
    if (five_bit) q += 16 * ((b[q5_k::kQh + l] >> sub) & 1);
    int sc = 0, mn = 0;
    unpack_scale_min_k4(b + off_scales, sub, sc, mn);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(mn);
    const float scaled = dl * static_cast<float>(q);
    y[i] = scaled - ml;
  }
}

// Q6_K: i = 128h + 32r + l; nibble from ql, two high bits at 2r of qh[32h + l]; int8 scales.
void decode_q6_k(const u8* b, float* y) {
  const float d = load_half(b + q6_k::kD);
  const u8* ql = b + q6_k::kQl;
  const u8* qh = b + q6_k::kQh;
  for (int i = 0; i < kSuperBlock; ++i) {
    const int h = i / 128, r = (i / 32) % 4, l = i % 32;
    const u8 low_byte = ql[64 * h + 32 * (r % 2) + l];
    const int low = r < 2 ? (low_byte & 0x0F) : (low_byte >> 4);
    const int high = (qh[32 * h + l] >> (2 * r)) & 3;
    const int q = (low | (high << 4)) - 32;
    const auto scale = static_cast<std::int8_t>(b[q6_k::kScales + i / 16]);
    const float dl = d * static_cast<float>(scale);
    y[i] = dl * static_cast<float>(q);
  }
}

}  // namespace

void decode_block(GgufBlockFormat f, const std::uint8_t* block, float* y) {
  switch (f) {
    case GgufBlockFormat::Q4_0:
      return decode_q4_0(block, y);
    case GgufBlockFormat::Q4_1:
      return decode_q4_1(block, y);
    case GgufBlockFormat::Q5_0:
      return decode_q5_0(block, y);
    case GgufBlockFormat::Q5_1:
      return decode_q5_1(block, y);
    case GgufBlockFormat::Q8_0:
      return decode_int8(block + q8_0::kD, block + q8_0::kQs, y);
    case GgufBlockFormat::Q8_1:
      return decode_int8(block + q8_1::kD, block + q8_1::kQs, y);
    case GgufBlockFormat::Q2_K:
      return decode_q2_k(block, y);
    case GgufBlockFormat::Q3_K:
      return decode_q3_k(block, y);
    case GgufBlockFormat::Q4_K:
      return decode_q45_k(block, y, false);
    case GgufBlockFormat::Q5_K:
      return decode_q45_k(block, y, true);
    case GgufBlockFormat::Q6_K:
      return decode_q6_k(block, y);
  }
  throw Error(ErrorCode::Internal, "decode_block: unknown GGUF block format");
}

}  // namespace gguf_io

void dequantize(GgufBlockFormat f, std::span<const std::uint8_t> blocks, std::span<float> out) {
  const std::size_t n = gguf_io::checked_block_count(f, blocks.size(), out.size(), "dequantize");
  const auto bytes = static_cast<std::size_t>(block_layout(f).block_bytes);
  const auto elems = static_cast<std::size_t>(block_layout(f).block_elems);
  for (std::size_t b = 0; b < n; ++b) {
    gguf_io::decode_block(f, blocks.data() + b * bytes, out.data() + b * elems);
  }
}

}  // namespace moejit
