// GGUF weight formats as device dequantization traits (namespace moejit::fmt), bit-exact with
// ggml's f32 dequantize_row_* formulas: every step is one f32 operation in ggml's order, written
// with __fmul_rn / __fadd_rn / __fsub_rn so that no fused multiply-add changes a result.
//
// Each trait has: Block (the byte-exact block struct), kBlockElems (qk), kBlockBytes,
// kIsKQuant, and
//   dequantize8(const Block& b, int j0, float (&y)[8]):  y[x] = element j0 + x of the block,
//     for j0 % 8 == 0 (the eight elements share one 16-element scale group);
//   dequantize<kCount>(const Block& b, int j0, float* y): elements [j0, j0 + kCount), for
//     kCount a multiple of 8 and j0 % 8 == 0 (a 32-element sub-block: kCount = 32).
// Blocks may sit at any 2-byte-aligned address (fields are read as bytes and 16-bit halves).
#pragma once

#include "formats/blocks.cuh"

namespace moejit {
namespace fmt {

namespace detail {

// float(v) for |v| < 2^22, exactly: 1.5 * 2^23 + v is exact in f32 (unit spacing there) and so is
// the subtraction. Two full-rate ALU operations instead of the quarter-rate I2F conversion.
__device__ __forceinline__ float to_f32(int v) {
  return __fsub_rn(__int_as_float(0x4B400000 + v), 12582912.0f);
}

// Shared loop of dequantize<kCount>.
template <class Fmt, int kCount>
__device__ __forceinline__ void dequantize_groups(const typename Fmt::Block& b, int j0, float* y) {
  static_assert(kCount % 8 == 0, "dequantize works on groups of 8 elements");
#pragma unroll
  for (int g = 0; g < kCount; g += 8) {
    float part[8];
    Fmt::dequantize8(b, j0 + g, part);
#pragma unroll
    for (int x = 0; x < 8; ++x) y[g + x] = part[x];
  }
}

// 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block (ggml get_scale_min_k4).
__device__ __forceinline__ void scale_min_k4(const unsigned char* s, int j, int& sc, int& mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// 6-bit scale t (0..15) of a Q3_K block, before the -32 offset.
__device__ __forceinline__ int scale_q3_k(const unsigned char* s, int t) {
  if (t < 4) return (s[t] & 0xF) | (((s[8 + t] >> 0) & 3) << 4);
  if (t < 8) return (s[t] & 0xF) | (((s[8 + t - 4] >> 2) & 3) << 4);
  if (t < 12) return (s[t - 8] >> 4) | (((s[8 + t - 8] >> 4) & 3) << 4);
  return (s[t - 8] >> 4) | (((s[8 + t - 12] >> 6) & 3) << 4);
}

// 4-bit quant of element i of a 32-element Q4/Q5 block: low nibbles hold elements 0..15.
__device__ __forceinline__ int nibble32(const unsigned char* qs, int i) {
  return i < 16 ? (qs[i] & 0xF) : (qs[i - 16] >> 4);
}

__device__ __forceinline__ unsigned load_u32_le(const unsigned char* b) {
  return static_cast<unsigned>(b[0]) | (static_cast<unsigned>(b[1]) << 8) |
         (static_cast<unsigned>(b[2]) << 16) | (static_cast<unsigned>(b[3]) << 24);
}

}  // namespace detail

// y = f32(q - 8) * d.
struct Q4_0 {
  using Block = gguf::BlockQ4_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 18;
  static constexpr bool kIsKQuant = false;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
#pragma unroll
    for (int x = 0; x < 8; ++x)
      y[x] = __fmul_rn(detail::to_f32(detail::nibble32(b.qs, j0 + x) - 8), d);
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q4_0, kCount>(b, j0, y);
  }
};

// y = f32(q) * d + m.
struct Q4_1 {
  using Block = gguf::BlockQ4_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 20;
  static constexpr bool kIsKQuant = false;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const float m = gguf::half_bits_to_float(b.m);
#pragma unroll
    for (int x = 0; x < 8; ++x)
      y[x] = __fadd_rn(__fmul_rn(detail::to_f32(detail::nibble32(b.qs, j0 + x)), d), m);
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q4_1, kCount>(b, j0, y);
  }
};

// q = nibble | (bit i of qh) << 4; y = f32(q - 16) * d.
struct Q5_0 {
  using Block = gguf::BlockQ5_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 22;
  static constexpr bool kIsKQuant = false;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const unsigned h = detail::load_u32_le(b.qh);
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int i = j0 + x;
      const int q = detail::nibble32(b.qs, i) | static_cast<int>(((h >> i) & 1u) << 4);
      y[x] = __fmul_rn(detail::to_f32(q - 16), d);
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q5_0, kCount>(b, j0, y);
  }
};

// q as Q5_0; y = f32(q) * d + m.
struct Q5_1 {
  using Block = gguf::BlockQ5_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 24;
  static constexpr bool kIsKQuant = false;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const float m = gguf::half_bits_to_float(b.m);
    const unsigned h = detail::load_u32_le(b.qh);
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int i = j0 + x;
      const int q = detail::nibble32(b.qs, i) | static_cast<int>(((h >> i) & 1u) << 4);
      y[x] = __fadd_rn(__fmul_rn(detail::to_f32(q), d), m);
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q5_1, kCount>(b, j0, y);
  }
};

// y = f32(qs[i]) * d.
struct Q8_0 {
  using Block = gguf::BlockQ8_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 34;
  static constexpr bool kIsKQuant = false;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
#pragma unroll
    for (int x = 0; x < 8; ++x) y[x] = __fmul_rn(detail::to_f32(b.qs[j0 + x]), d);
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q8_0, kCount>(b, j0, y);
  }
};

// i = 128h + 32j + l: q = (qs[32h + l] >> 2j) & 3, sc = scales[i / 16];
// y = (d * f32(sc & 0xF)) * f32(q) - (dmin * f32(sc >> 4)).
struct Q2_K {
  using Block = gguf::BlockQ2_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 84;
  static constexpr bool kIsKQuant = true;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const float dmin = gguf::half_bits_to_float(b.dmin);
    const int h = j0 >> 7;
    const int shift = 2 * ((j0 >> 5) & 3);
    const int l0 = j0 & 31;
    const int sc = b.scales[j0 >> 4];
    const float dl = __fmul_rn(d, detail::to_f32(sc & 0xF));
    const float ml = __fmul_rn(dmin, detail::to_f32(sc >> 4));
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int q = (b.qs[32 * h + l0 + x] >> shift) & 3;
      y[x] = __fsub_rn(__fmul_rn(dl, detail::to_f32(q)), ml);
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q2_K, kCount>(b, j0, y);
  }
};

// i = 128h + 32j + l: lo = (qs[32h + l] >> 2j) & 3, q = lo - (bit (4h + j) of hmask[l] ? 0 : 4);
// y = (d * f32(S[i / 16] - 32)) * f32(q) with the 6-bit scales S.
struct Q3_K {
  using Block = gguf::BlockQ3_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 110;
  static constexpr bool kIsKQuant = true;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const int h = j0 >> 7;
    const int j = (j0 >> 5) & 3;
    const int l0 = j0 & 31;
    const float dl = __fmul_rn(d, detail::to_f32(detail::scale_q3_k(b.scales, j0 >> 4) - 32));
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int l = l0 + x;
      const int lo = (b.qs[32 * h + l] >> (2 * j)) & 3;
      const int q = lo - (((b.hmask[l] >> (4 * h + j)) & 1) ? 0 : 4);
      y[x] = __fmul_rn(dl, detail::to_f32(q));
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q3_K, kCount>(b, j0, y);
  }
};

// i = 64c + 32t + l, sub-block j = 2c + t: q = t ? qs[32c + l] >> 4 : qs[32c + l] & 0xF;
// y = (d * f32(sc_j)) * f32(q) - (dmin * f32(m_j)).
struct Q4_K {
  using Block = gguf::BlockQ4_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 144;
  static constexpr bool kIsKQuant = true;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const float dmin = gguf::half_bits_to_float(b.dmin);
    const int j = j0 >> 5;
    const int c = j >> 1;
    const int shift = 4 * (j & 1);
    const int l0 = j0 & 31;
    int sc = 0;
    int mn = 0;
    detail::scale_min_k4(b.scales, j, sc, mn);
    const float dl = __fmul_rn(d, detail::to_f32(sc));
    const float ml = __fmul_rn(dmin, detail::to_f32(mn));
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int q = (b.qs[32 * c + l0 + x] >> shift) & 0xF;
      y[x] = __fsub_rn(__fmul_rn(dl, detail::to_f32(q)), ml);
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q4_K, kCount>(b, j0, y);
  }
};

// As Q4_K with q = nibble + 16 * ((qh[l] >> j) & 1), j = i / 32, l = i % 32.
struct Q5_K {
  using Block = gguf::BlockQ5_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 176;
  static constexpr bool kIsKQuant = true;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const float dmin = gguf::half_bits_to_float(b.dmin);
    const int j = j0 >> 5;
    const int c = j >> 1;
    const int shift = 4 * (j & 1);
    const int l0 = j0 & 31;
    int sc = 0;
    int mn = 0;
    detail::scale_min_k4(b.scales, j, sc, mn);
    const float dl = __fmul_rn(d, detail::to_f32(sc));
    const float ml = __fmul_rn(dmin, detail::to_f32(mn));
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int l = l0 + x;
      const int q = ((b.qs[32 * c + l] >> shift) & 0xF) + 16 * ((b.qh[l] >> j) & 1);
      y[x] = __fsub_rn(__fmul_rn(dl, detail::to_f32(q)), ml);
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q5_K, kCount>(b, j0, y);
  }
};

// i = 128h + 32r + l: lo = nibble (r & 2 ? high : low) of ql[64h + 32(r & 1) + l],
// hi = (qh[32h + l] >> 2r) & 3, q = (lo | hi << 4) - 32; y = (d * f32(scales[i / 16])) * f32(q).
struct Q6_K {
  using Block = gguf::BlockQ6_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 210;
  static constexpr bool kIsKQuant = true;
  static __device__ __forceinline__ void dequantize8(const Block& b, int j0, float (&y)[8]) {
    const float d = gguf::half_bits_to_float(b.d);
    const int h = j0 >> 7;
    const int r = (j0 >> 5) & 3;
    const int l0 = j0 & 31;
    const int lo_shift = 4 * (r >> 1);
    const unsigned char* ql = b.ql + 64 * h + 32 * (r & 1);
    const unsigned char* qh = b.qh + 32 * h;
    const float dl = __fmul_rn(d, detail::to_f32(b.scales[j0 >> 4]));
#pragma unroll
    for (int x = 0; x < 8; ++x) {
      const int l = l0 + x;
      const int lo = (ql[l] >> lo_shift) & 0xF;
      const int hi = (qh[l] >> (2 * r)) & 3;
      y[x] = __fmul_rn(dl, detail::to_f32((lo | (hi << 4)) - 32));
    }
  }
  template <int kCount>
  static __device__ __forceinline__ void dequantize(const Block& b, int j0, float* y) {
    detail::dequantize_groups<Q6_K, kCount>(b, j0, y);
  }
};

static_assert(sizeof(Q4_0::Block) == Q4_0::kBlockBytes, "q4_0 bytes");
static_assert(sizeof(Q4_1::Block) == Q4_1::kBlockBytes, "q4_1 bytes");
static_assert(sizeof(Q5_0::Block) == Q5_0::kBlockBytes, "q5_0 bytes");
static_assert(sizeof(Q5_1::Block) == Q5_1::kBlockBytes, "q5_1 bytes");
static_assert(sizeof(Q8_0::Block) == Q8_0::kBlockBytes, "q8_0 bytes");
static_assert(sizeof(Q2_K::Block) == Q2_K::kBlockBytes, "q2_k bytes");
static_assert(sizeof(Q3_K::Block) == Q3_K::kBlockBytes, "q3_k bytes");
static_assert(sizeof(Q4_K::Block) == Q4_K::kBlockBytes, "q4_k bytes");
static_assert(sizeof(Q5_K::Block) == Q5_K::kBlockBytes, "q5_k bytes");
static_assert(sizeof(Q6_K::Block) == Q6_K::kBlockBytes, "q6_k bytes");

}  // namespace fmt
}  // namespace moejit
