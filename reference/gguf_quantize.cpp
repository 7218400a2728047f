// quantize(): input checks and dispatch, plus the 32-value formats (q4_0 q4_1 q5_0 q5_1 q8_0 q8_1)
// with the arithmetic of ggml's quantize_row_*_ref.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "reference/gguf_block_io.hpp"

namespace moejit {
namespace gguf_io {
namespace {

using u8 = std::uint8_t;

// The value of largest magnitude (the first one on ties), sign kept.
float signed_absmax(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < 32; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

void min_max(const float* x, float& min, float& max) {
  min = FLT_MAX;
  max = -FLT_MAX;
  for (int i = 0; i < 32; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
}

float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Packs 32 quants (< 32) into 16 bytes of low/high nibbles and, when qh is given, 32 fifth bits.
void pack_nibbles(const int* q, u8* qs, u8* qh) {
  std::uint32_t high = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<u8>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    high |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
    high |= static_cast<std::uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  if (qh != nullptr) store_u32(qh, high);
}

// Symmetric 4/5-bit: d = max / -2^(bits-1) so the extreme value lands on quant 0.
void encode_symmetric(const float* x, u8* d_field, u8* qs, u8* qh, int bits) {
  const int offset = 1 << (bits - 1);
  const int top = (1 << bits) - 1;
  const float d = signed_absmax(x) / static_cast<float>(-offset);
  const float id = inverse_or_zero(d);
  store_half(d_field, d);
  int q[32];
  for (int i = 0; i < 32; ++i) {
    const float shifted = x[i] * id + (static_cast<float>(offset) + 0.5f);
    // ggml casts through int8_t and keeps min(top, .) of the result.
    const int t = static_cast<std::int8_t>(truncate_low_byte(shifted));
    q[i] = static_cast<u8>(std::min(top, t));
  }
  pack_nibbles(q, qs, qh);
}

// Affine 4/5-bit: d = (max - min) / (2^bits - 1), m = min.
void encode_affine(const float* x, u8* d_field, u8* m_field, u8* qs, u8* qh, int bits) {
  const int top = (1 << bits) - 1;
  float min = 0.0f, max = 0.0f;
  min_max(x, min, max);
  const float d = (max - min) / static_cast<float>(top);
  const float id = inverse_or_zero(d);
  store_half(d_field, d);
  store_half(m_field, min);
  int q[32];
  for (int i = 0; i < 32; ++i) {
    const float scaled = (x[i] - min) * id;
    const int t = truncate_low_byte(scaled + 0.5f);
    // q4_1 clamps through int8_t to 15; q5_1 keeps the byte as it is (ggml casts to uint8_t).
    q[i] = bits == 4 ? static_cast<u8>(std::min(top, static_cast<int>(static_cast<std::int8_t>(t))))
                     : t;
  }
  pack_nibbles(q, qs, qh);
}

// Q8_0: d = amax / 127, q = roundf(x / d).
void encode_q8_0(const float* x, u8* b) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = inverse_or_zero(d);
  store_half(b + q8_0::kD, d);
  for (int i = 0; i < 32; ++i)
    b[q8_0::kQs + i] = static_cast<u8>(truncate_low_byte(std::round(x[i] * id)));
}

void encode_q8_1(const float* x, u8* b) {
  Q8_1Block block{};
  quantize_q8_1(std::span<const float>(x, 32), std::span<Q8_1Block>(&block, 1));
  store_u16(b + q8_1::kD, block.d);
  store_u16(b + q8_1::kS, block.s);
  std::memcpy(b + q8_1::kQs, block.qs, sizeof block.qs);
}

void encode_block(GgufBlockFormat f, const float* x, u8* b) {
  switch (f) {
    case GgufBlockFormat::Q4_0:
      return encode_symmetric(x, b + q4_0::kD, b + q4_0::kQs, nullptr, 4);
    case GgufBlockFormat::Q4_1:
      return encode_affine(x, b + q4_1::kD, b + q4_1::kM, b + q4_1::kQs, nullptr, 4);
    case GgufBlockFormat::Q5_0:
      return encode_symmetric(x, b + q5_0::kD, b + q5_0::kQs, b + q5_0::kQh, 5);
    case GgufBlockFormat::Q5_1:
      return encode_affine(x, b + q5_1::kD, b + q5_1::kM, b + q5_1::kQs, b + q5_1::kQh, 5);
    case GgufBlockFormat::Q8_0:
      return encode_q8_0(x, b);
    case GgufBlockFormat::Q8_1:
      return encode_q8_1(x, b);
    case GgufBlockFormat::Q2_K:
      return encode_q2_k(x, b);
    case GgufBlockFormat::Q3_K:
      return encode_q3_k(x, b);
    case GgufBlockFormat::Q4_K:
      return encode_q4_k(x, b);
    case GgufBlockFormat::Q5_K:
      return encode_q5_k(x, b);
    case GgufBlockFormat::Q6_K:
      return encode_q6_k(x, b);
  }
  throw Error(ErrorCode::Internal, "encode_block: unknown GGUF block format");
}

}  // namespace
}  // namespace gguf_io

void quantize(GgufBlockFormat f, std::span<const float> in, std::span<std::uint8_t> blocks) {
  const std::size_t n = gguf_io::checked_block_count(f, blocks.size(), in.size(), "quantize");
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!std::isfinite(in[i])) {
      throw Error(ErrorCode::InvalidProblem,
                  "quantize " + std::string(format_name(f)) + ": value " + std::to_string(i) +
                      " is " + std::to_string(in[i]) +
                      "; GGUF blocks hold finite values only, so clean the input first");
    }
  }
  const auto bytes = static_cast<std::size_t>(block_layout(f).block_bytes);
  const auto elems = static_cast<std::size_t>(block_layout(f).block_elems);
  for (std::size_t b = 0; b < n; ++b) {
    gguf_io::encode_block(f, in.data() + b * elems, blocks.data() + b * bytes);
  }
}

}  // namespace moejit
