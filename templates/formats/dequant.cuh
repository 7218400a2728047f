// GGUF weight formats as device dequantization traits (namespace moejit::fmt), bit-exact with
// ggml's f32 dequantize_row_* formulas: every step is one f32 operation in ggml's order, written
// with __fmul_rn / __fadd_rn / __fsub_rn so that no contraction changes a result. The fused
// multiply-adds are used only where they round exactly as ggml's separate operations: q * d + m in
// scale_add8 / scale_sub8 where the product q * d is exact in f32 (at most 24 significant bits: an
// 11-bit half scale times a scale of at most 6 bits times a quant of at most 5 bits), and the one
// multiply-add per value of scale8 (see there).
//
// Each trait has: Block (the byte-exact block struct), kBlockElems (qk), kBlockBytes,
// kIsKQuant, kTaskGroups and kMmaTaskGroups (the 8-element groups one dequantization task of the
// warpgroup kernel, and of the mma.sync kernel, should cover; measured on an H100, docs/tuning.md:
// q4_K 4 and 4, q5_K and q6_K 2 and 2, q2_K 2 and 4, q4_0, q4_1 and q5_1 1 and 4, q8_0 1 and 2,
// q5_0 and q3_K 1), kStoreBatch (the tasks a thread of the warpgroup kernel dequantizes before it
// stores them, so that their shared-memory loads overlap: 4 from detail::TaskDefaults, but 1 for
// q5_K, whose 64x128x64:w8 tile would then need more than the 128 registers that keep two CTAs on
// an SM), and
//   dequantize8(detail::Staged b, int j0, float (&y)[8]):  y[x] = element j0 + x of the
//     block at b, for j0 % 8 == 0 (the eight elements share one 16-element scale group);
//   dequantize_groups<kN>(b, j0, float (&y)[kN][8]):  y[u] = dequantize8(b, j0 + 8u), the kN
//     groups (1, 2 or 4) of one task, j0 % (8 kN) == 0, so inside one 32-element sub-block.
//     q4_K and q5_K decode the sub-block's scale and min once for all of them, q2_K and q6_K
//     their 16-element scales once per half, and every format but q3_K loads the groups' quant
//     bytes (and d, m, qh) once (the compiler does not merge these across separate dequantize8
//     calls: it cannot tell that j0 and j0 + 8 lie in one sub-block); q3_K dequantizes each
//     group on its own.
// b is a shared-memory address aligned as the block layout allows in a 16-byte-aligned tensor
// (4 bytes when kBlockBytes % 4 == 0, else 2), with its value modulo 4 (detail::Staged). The quants
// of a group are read as two 32-bit words (bytes [p, p + 8) of the block; for a 2-byte-aligned p,
// bytes up to p + 10 are read and the two past p + 8 discarded, so two readable bytes must follow
// the block), decoded four at a time with word-wide shifts and masks into bytes holding q + bias,
// and each byte becomes an exact f32 through its IEEE bits (no integer-to-float conversion
// instruction).
#pragma once

#include "formats/blocks.cuh"

namespace moejit {
namespace fmt {

namespace detail {

// A shared-memory address of staged block bytes, with its value modulo 4 carried alongside: the
// caller knows it from offsets (staging rows start at multiples of 16 bytes), so the loads of
// 2-byte-aligned data pick their words without forming and testing the address itself.
struct Staged {
  const unsigned char* p;
  unsigned mod4;  // the address p modulo 4
  __device__ __forceinline__ Staged operator+(int off) const {
    return Staged{p + off, (mod4 + static_cast<unsigned>(off)) & 3u};
  }
  __device__ __forceinline__ unsigned char operator[](int i) const { return p[i]; }
};

// kWords little-endian words from p; kAlign (2 or 4) is p's known alignment. For a 2-byte-aligned
// p the word after them is read too (its two bytes past p + 4 * kWords are discarded), so two
// readable bytes must follow.
template <int kWords, int kAlign>
__device__ __forceinline__ void load_words(Staged p, unsigned (&out)[kWords]) {
  if constexpr (kAlign >= 4) {
    const unsigned* w = reinterpret_cast<const unsigned*>(p.p);
#pragma unroll
    for (int i = 0; i < kWords; ++i) out[i] = w[i];
  } else {
    const unsigned mis = p.mod4 & 2u;
    const unsigned* w = reinterpret_cast<const unsigned*>(p.p - mis);
    unsigned raw[kWords + 1];
#pragma unroll
    for (int i = 0; i < kWords; ++i) raw[i] = w[i];
    raw[kWords] = mis != 0 ? w[kWords] : 0u;
#pragma unroll
    for (int i = 0; i < kWords; ++i) out[i] = __funnelshift_r(raw[i], raw[i + 1], 8 * mis);
  }
}

// Eight bytes at p as two little-endian words; kAlign (2, 4 or 8) is p's known alignment.
template <int kAlign>
__device__ __forceinline__ uint2 load8(Staged p) {
  if constexpr (kAlign >= 8) {
    return *reinterpret_cast<const uint2*>(p.p);
  } else {
    unsigned w[2];
    load_words<2, kAlign>(p, w);
    return make_uint2(w[0], w[1]);
  }
}

__device__ __forceinline__ unsigned load_u16(const unsigned char* p) {
  return *reinterpret_cast<const unsigned short*>(p);
}

__device__ __forceinline__ float half_at(const unsigned char* p) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(load_u16(p))));
}

__device__ __forceinline__ float half_at(Staged p) { return half_at(p.p); }

// f32(byte x of w), exactly: the bits 0x4B0000bb are the f32 2^23 + bb, and subtracting 2^23 is
// exact.
__device__ __forceinline__ float byte_f32(unsigned w, int x) {
  const unsigned bits = __byte_perm(w, 0x4B000000u, 0x7540u | static_cast<unsigned>(x));
  return __fsub_rn(__uint_as_float(bits), 8388608.0f);
}

// Bits [i, i + 4) of v moved to bit 0 of bytes 0..3.
__device__ __forceinline__ unsigned spread4(unsigned v) {
  return ((v & 0xFu) * 0x00204081u) & 0x01010101u;
}

// y[x] = f32(byte x of {w.x, w.y} - kBias) * d for byte values below 2^kCodeBits (7 or 8), in
// one multiply-add per value. Byte b placed in the mantissa of 2.0 (bits 16..22, or 8..15 for
// 8-bit codes) is the f32 B = 2 + b / u, u = 64 (or 16384), and
//   fma(B, u * d, -(2u + kBias) * d) = (b - kBias) * d   before its one rounding.
// Both factors are exact: u * d scales by a power of two, and 2u + kBias has few significant
// bits (q4_0 136: 5, q5_0 144: 4, q3_K 132: 6, q6_K 160: 3, q8_0 32896: 9), so with the scales'
// at most 11 (half d), 16 (q3_K d * (S - 32)) or 18 (q6_K d * sc) bits the product stays within
// f32's 24. The result is then ggml's __fmul_rn(f32(b - kBias), d) bit for bit, except that a
// zero may come out +0 where ggml's is -0, and a non-finite d gives NaN for the whole group
// (ggml: +-inf, NaN where b == kBias).
template <int kBias, int kCodeBits = 7>
struct Scale8 {
  static_assert(kCodeBits == 7 || kCodeBits == 8, "7- or 8-bit codes");
  static constexpr float kUnit = kCodeBits == 7 ? 64.0f : 16384.0f;
  static constexpr unsigned kSelect = kCodeBits == 7 ? 0x7054u : 0x7604u;  // b into byte 2 or 1
  static constexpr int kShift = kCodeBits == 7 ? 8 : 4;
  float s;  // u * d
  float c;  // -(2u + kBias) * d
  __device__ __forceinline__ explicit Scale8(float d)
      : s(__fmul_rn(d, kUnit)), c(__fmul_rn(d, -(2.0f * kUnit + static_cast<float>(kBias)))) {}
  // The four bytes of one word into y[0..3].
  __device__ __forceinline__ void word(unsigned w, float* y) const {
#pragma unroll
    for (int x = 0; x < 4; ++x)
      y[x] = __fmaf_rn(__uint_as_float(__byte_perm(w, 0x40000000u, kSelect | (x << kShift))), s, c);
  }
  __device__ __forceinline__ void operator()(uint2 w, float (&y)[8]) const {
    word(w.x, y);
    word(w.y, y + 4);
  }
};

template <int kBias, int kCodeBits = 7>
__device__ __forceinline__ void scale8(uint2 w, float d, float (&y)[8]) {
  const Scale8<kBias, kCodeBits> scale{d};
  scale(w, y);
}

// y[x] = f32(byte x) * d + m, for products f32(byte x) * d exact in f32 (see the top).
__device__ __forceinline__ void scale_add8(uint2 w, float d, float m, float (&y)[8]) {
#pragma unroll
  for (int x = 0; x < 4; ++x) y[x] = __fmaf_rn(byte_f32(w.x, x), d, m);
#pragma unroll
  for (int x = 0; x < 4; ++x) y[4 + x] = __fmaf_rn(byte_f32(w.y, x), d, m);
}

// y[x] = dl * f32(byte x) - ml, for products exact in f32 (see the top).
__device__ __forceinline__ void scale_sub8(uint2 w, float dl, float ml, float (&y)[8]) {
  scale_add8(w, dl, -ml, y);
}

// What every format shares unless it says otherwise: kStoreBatch 4 (a format declares its own to
// change it).
struct TaskDefaults {
  static constexpr int kStoreBatch = 4;
};

// dequantize8 of the formats that define dequantize_groups: a task of one group.
template <class Fmt>
struct OneGroupTask : TaskDefaults {
  static __device__ __forceinline__ void dequantize8(Staged b, int j0, float (&y)[8]) {
    Fmt::template dequantize_groups<1>(b, j0, reinterpret_cast<float(&)[1][8]>(y));
  }
};

// dequantize_groups of the formats whose groups share nothing costly: each group on its own.
template <class Fmt>
struct EachGroup : TaskDefaults {
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(Staged b, int j0, float (&y)[kN][8]) {
#pragma unroll
    for (int u = 0; u < kN; ++u) Fmt::dequantize8(b, j0 + 8 * u, y[u]);
  }
};

__device__ __forceinline__ uint2 nibbles(uint2 w, int shift) {
  return make_uint2((w.x >> shift) & 0x0F0F0F0Fu, (w.y >> shift) & 0x0F0F0F0Fu);
}

// The nibble codes of the kN groups from element e0 of a 32-element block whose 16 quant bytes
// are at qs (element e: the low nibble of qs[e] for e < 16, the high nibble of qs[e - 16]), from
// one load: 16 bytes for two or four groups, 8 for one. Calls emit(u, e0 + 8u, codes) per group.
template <int kN, int kAlign, class Emit>
__device__ __forceinline__ void nibble_groups(Staged qs, int e0, Emit emit) {
  static_assert(kN == 1 || kN == 2 || kN == 4, "a task's groups lie in one block");
  constexpr int kWords = kN == 1 ? 2 : 4;
  unsigned q[kWords];
  load_words<kWords, kAlign>(qs + (kN == 1 ? (e0 & 15) : 0), q);
#pragma unroll
  for (int u = 0; u < kN; ++u) {
    const int e = e0 + 8 * u;
    const int w = kN == 1 ? 0 : 2 * (u & 1);
    emit(u, e, nibbles(make_uint2(q[w], q[w + 1]), e & 16 ? 4 : 0));
  }
}

// The 16-bit words at p and p + kGap (2-byte aligned) as one 32-bit word, low word first.
template <int kGap>
__device__ __forceinline__ unsigned u16_pair(const unsigned char* p) {
  return load_u16(p) | (load_u16(p + kGap) << 16);
}

// The 32-bit little-endian word at a 2-byte aligned p (the qh field of q5_0 and q5_1).
__device__ __forceinline__ unsigned word_a2(const unsigned char* p) { return u16_pair<2>(p); }

// The 16-bit words at p and p + 8 (2-byte aligned) as one 32-bit word: the bytes of a lane's two
// element pairs 8 apart in the register-weight kernel's fragments.
__device__ __forceinline__ unsigned quad_pair_word(const unsigned char* p) {
  return u16_pair<8>(p);
}

// The register-weight kernel's codes of lane quad position t (0..3) of a 32-element block whose
// 16 quant bytes (4-bit codes, as nibble_groups reads them) are at qs, 2-byte aligned: the bytes of
// .x hold elements 2t, 2t + 1, 8 + 2t and 9 + 2t (the low nibbles of quant bytes 2t, 2t + 1,
// 8 + 2t, 9 + 2t, one 16-bit load per pair), those of .y the four 16 further on (their high
// nibbles).
__device__ __forceinline__ uint2 quad_pair_nibbles(const unsigned char* qs, int t) {
  const unsigned q = quad_pair_word(qs + 2 * t);
  return make_uint2(q & 0x0F0F0F0Fu, (q >> 4) & 0x0F0F0F0Fu);
}

// quad_pair_nibbles' codes with the fifth bit of each element (bit e of the block's 32-bit qh)
// added as bit 4.
__device__ __forceinline__ uint2 quad_pair_high_bits(uint2 q, unsigned qh, int t) {
  const unsigned lo = qh >> (2 * t);  // elements 2t, 2t + 1 at bits 0, 1; 8 + 2t, 9 + 2t at 8, 9
  const unsigned hi = qh >> (2 * t + 16);  // the four 16 further on, likewise
  q.x |= spread4((lo & 3u) | ((lo >> 6) & 0xCu)) << 4;
  q.y |= spread4((hi & 3u) | ((hi >> 6) & 0xCu)) << 4;
  return q;
}

// 6-bit scale t (0..15) of a Q3_K block, before the -32 offset: the low four bits are nibble t / 8
// of byte t % 8, the high two bits field t / 4 of byte 8 + t % 4. Branch-free (the form with a
// branch per quarter of t made the mma.sync tiles spill and was up to 20% slower).
__device__ __forceinline__ int scale_q3_k(const unsigned char* s, int t) {
  return ((s[t & 7] >> (4 * (t >> 3))) & 0xF) | (((s[8 + (t & 3)] >> (2 * (t >> 2))) & 3) << 4);
}

// f32(v) for 0 <= v < 2^22 (scales), exactly.
__device__ __forceinline__ float small_f32(int v) {
  return __fsub_rn(__int_as_float(0x4B000000 | v), 8388608.0f);
}

// The f32 scale d * f32(sc) of a Q6_K sub-block half whose signed 8-bit scale is the byte sc.
__device__ __forceinline__ float q6_k_scale(float d, unsigned char sc) {
  return __fmul_rn(d, small_f32(static_cast<signed char>(sc) + 128) - 128.0f);
}

// dl = d * f32(sc_j) and ml = dmin * f32(m_j) of sub-block j of the Q4_K / Q5_K block at b (4-byte
// aligned).
__device__ __forceinline__ void scale_min_k4(Staged b, int j, float& dl, float& ml) {
  const unsigned* w = reinterpret_cast<const unsigned*>(b.p);
  const float2 dm = __half22float2(*reinterpret_cast<const __half2*>(w));
  unsigned sc = 0;
  unsigned mn = 0;
  gguf::scale_min_k4<true>(w[1], w[2], w[3], j, sc, mn);
  dl = __fmul_rn(dm.x, small_f32(static_cast<int>(sc)));
  ml = __fmul_rn(dm.y, small_f32(static_cast<int>(mn)));
}

// The kN groups of a q4_K / q5_K task from element j0, all in sub-block j = j0 / 32, whose scale
// and min are decoded once; quants(j, l) gives the codes of the group at element l of it.
template <int kN, class Quants>
__device__ __forceinline__ void scale_min_groups(Staged b, int j0, Quants quants,
                                                 float (&y)[kN][8]) {
  static_assert(kN == 1 || kN == 2 || kN == 4, "a task's groups lie in one 32-element sub-block");
  const int j = j0 >> 5;
  float dl = 0.0f;
  float ml = 0.0f;
  scale_min_k4(b, j, dl, ml);
#pragma unroll
  for (int u = 0; u < kN; ++u) scale_sub8(quants(j, (j0 & 31) + 8 * u), dl, ml, y[u]);
}

}  // namespace detail

// Element i < 16: low nibble of qs[i]; i >= 16: high nibble of qs[i - 16]. y = f32(q - 8) * d.
struct Q4_0 : detail::OneGroupTask<Q4_0> {
  using Block = gguf::BlockQ4_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 18;
  static constexpr bool kIsKQuant = false;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 4;
  // One load of d and of the kN groups' quant bytes.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    const detail::Scale8<8> scale(detail::half_at(b));
    detail::nibble_groups<kN, 2>(b + 2, j0 & (32 - 8 * kN),
                                 [&](int u, int, uint2 q) { scale(q, y[u]); });
  }
  // The register-weight kernel's elements of lane quad position t (0..3) of the block at b (2-byte
  // aligned): y[2i], y[2i + 1] = elements 8i + 2t and 8i + 2t + 1 (detail::quad_pair_nibbles);
  // zeros when !live (a block past K, whose staged bytes are not data). Q4_1, Q5_0 and Q5_1 alike.
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int t,
                                                               bool live, float (&y)[8]) {
    const float d = live ? detail::half_at(b) : 0.0f;
    const detail::Scale8<8> scale(d);
    scale(detail::quad_pair_nibbles(b + 2, t), y);
  }
};

// q as Q4_0; y = f32(q) * d + m.
struct Q4_1 : detail::OneGroupTask<Q4_1> {
  using Block = gguf::BlockQ4_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 20;
  static constexpr bool kIsKQuant = false;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 4;
  // One load of d, m and the kN groups' quant bytes.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    const float d = detail::half_at(b);
    const float m = detail::half_at(b + 2);
    detail::nibble_groups<kN, 4>(b + 4, j0 & (32 - 8 * kN),
                                 [&](int u, int, uint2 q) { detail::scale_add8(q, d, m, y[u]); });
  }
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int t,
                                                               bool live, float (&y)[8]) {
    const float d = live ? detail::half_at(b) : 0.0f;
    const float m = live ? detail::half_at(b + 2) : 0.0f;
    detail::scale_add8(detail::quad_pair_nibbles(b + 4, t), d, m, y);
  }
};

// q = nibble (as Q4_0) | (bit i of the 32-bit qh) << 4; y = f32(q - 16) * d.
struct Q5_0 : detail::OneGroupTask<Q5_0> {
  using Block = gguf::BlockQ5_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 22;
  static constexpr bool kIsKQuant = false;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 1;
  // One load of d, qh and the kN groups' quant bytes.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    const unsigned qh = detail::word_a2(b.p + 2);
    const detail::Scale8<16> scale(detail::half_at(b));
    detail::nibble_groups<kN, 2>(b + 6, j0 & (32 - 8 * kN), [&](int u, int e, uint2 q) {
      const unsigned h = qh >> e;
      q.x |= detail::spread4(h) << 4;
      q.y |= detail::spread4(h >> 4) << 4;
      scale(q, y[u]);
    });
  }
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int t,
                                                               bool live, float (&y)[8]) {
    const unsigned qh = detail::word_a2(b + 2);
    const float d = live ? detail::half_at(b) : 0.0f;
    const detail::Scale8<16> scale(d);
    scale(detail::quad_pair_high_bits(detail::quad_pair_nibbles(b + 6, t), qh, t), y);
  }
};

// q as Q5_0; y = f32(q) * d + m.
struct Q5_1 : detail::OneGroupTask<Q5_1> {
  using Block = gguf::BlockQ5_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 24;
  static constexpr bool kIsKQuant = false;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 4;
  // One load of d, m, qh and the kN groups' quant bytes.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    const unsigned qh = *reinterpret_cast<const unsigned*>(b.p + 4);
    const float d = detail::half_at(b);
    const float m = detail::half_at(b + 2);
    detail::nibble_groups<kN, 8>(b + 8, j0 & (32 - 8 * kN), [&](int u, int e, uint2 q) {
      const unsigned h = qh >> e;
      q.x |= detail::spread4(h) << 4;
      q.y |= detail::spread4(h >> 4) << 4;
      detail::scale_add8(q, d, m, y[u]);
    });
  }
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int t,
                                                               bool live, float (&y)[8]) {
    const unsigned qh = detail::word_a2(b + 4);
    const float d = live ? detail::half_at(b) : 0.0f;
    const float m = live ? detail::half_at(b + 2) : 0.0f;
    detail::scale_add8(detail::quad_pair_high_bits(detail::quad_pair_nibbles(b + 8, t), qh, t), d,
                       m, y);
  }
};

// y = f32(qs[i]) * d (qs signed; stored + 128 in the decoded bytes).
struct Q8_0 : detail::OneGroupTask<Q8_0> {
  using Block = gguf::BlockQ8_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 34;
  static constexpr bool kIsKQuant = false;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 2;
  // One load of d and of the kN groups' 8 kN quant bytes.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    const int e0 = j0 & (32 - 8 * kN);  // j0 % 32, 0 when the task is the whole block
    unsigned q[2 * kN];
    detail::load_words<2 * kN, 2>(b + 2 + e0, q);
    const detail::Scale8<128, 8> scale(detail::half_at(b));
#pragma unroll
    for (int u = 0; u < kN; ++u)
      scale(make_uint2(q[2 * u] ^ 0x80808080u, q[2 * u + 1] ^ 0x80808080u), y[u]);
  }
  // The register-weight kernel's elements of lane quad position t (0..3) of the block at b (2-byte
  // aligned): y[2i], y[2i + 1] = elements 8i + 2t and 8i + 2t + 1, one 16-bit load each; zeros
  // when !live (a block past K, whose staged bytes are not data).
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int t,
                                                               bool live, float (&y)[8]) {
    const unsigned char* qs = b + 2 + 2 * t;
    const float d = live ? detail::half_at(b) : 0.0f;
    const detail::Scale8<128, 8> scale(d);
    scale(make_uint2(detail::quad_pair_word(qs) ^ 0x80808080u,
                     detail::quad_pair_word(qs + 16) ^ 0x80808080u),
          y);
  }
};

// i = 128h + 32j + l: q = (qs[32h + l] >> 2j) & 3, sc = scales[i / 16];
// y = (d * f32(sc & 0xF)) * f32(q) - (dmin * f32(sc >> 4)).
struct Q2_K : detail::OneGroupTask<Q2_K> {
  using Block = gguf::BlockQ2_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 84;
  static constexpr bool kIsKQuant = true;
  static constexpr int kTaskGroups = 2;
  static constexpr int kMmaTaskGroups = 4;
  // One load of the kN groups' quant bytes; a scale and min per 16-element half.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    constexpr int kHalves = kN == 4 ? 2 : 1;
    const int h = j0 >> 7;
    const int shift = 2 * ((j0 >> 5) & 3);
    const int l0 = j0 & (32 - 8 * kN);  // j0 % 32, 0 when the task is the whole sub-block
    float dl[kHalves], ml[kHalves];
#pragma unroll
    for (int t = 0; t < kHalves; ++t) {
      const int sc = b[(j0 >> 4) + t];
      dl[t] = __fmul_rn(detail::half_at(b + 80), detail::small_f32(sc & 0xF));
      ml[t] = __fmul_rn(detail::half_at(b + 82), detail::small_f32(sc >> 4));
    }
    unsigned w[2 * kN];
    detail::load_words<2 * kN, 4>(b + 16 + 32 * h + l0, w);
#pragma unroll
    for (int u = 0; u < kN; ++u) {
      const uint2 q =
          make_uint2((w[2 * u] >> shift) & 0x03030303u, (w[2 * u + 1] >> shift) & 0x03030303u);
      detail::scale_sub8(q, dl[u * kHalves / kN], ml[u * kHalves / kN], y[u]);
    }
  }
};

// i = 128h + 32j + l: lo = (qs[32h + l] >> 2j) & 3, q = lo - (bit (4h + j) of hmask[l] ? 0 : 4);
// y = (d * f32(S[i / 16] - 32)) * f32(q) with the 6-bit scales S. Decoded bytes hold q + 4.
struct Q3_K : detail::EachGroup<Q3_K> {
  using Block = gguf::BlockQ3_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 110;
  static constexpr bool kIsKQuant = true;
  static constexpr int kTaskGroups = 1;
  static constexpr int kMmaTaskGroups = 1;
  static __device__ __forceinline__ void dequantize8(detail::Staged b, int j0, float (&y)[8]) {
    const int h = j0 >> 7;
    const int j = (j0 >> 5) & 3;
    const int l0 = j0 & 31;
    const float dl = __fmul_rn(detail::half_at(b + 108),
                               detail::small_f32(detail::scale_q3_k(b.p + 96, j0 >> 4)) - 32.0f);
    const uint2 lo = detail::load8<2>(b + 32 + 32 * h + l0);
    const uint2 hm = detail::load8<2>(b + l0);
    const int hbit = 4 * h + j;
    const uint2 q =
        make_uint2(((lo.x >> (2 * j)) & 0x03030303u) | (((hm.x >> hbit) & 0x01010101u) << 2),
                   ((lo.y >> (2 * j)) & 0x03030303u) | (((hm.y >> hbit) & 0x01010101u) << 2));
    detail::scale8<4>(q, dl, y);
  }
};

// i = 64c + 32t + l, sub-block j = 2c + t: q = t ? qs[32c + l] >> 4 : qs[32c + l] & 0xF;
// y = (d * f32(sc_j)) * f32(q) - (dmin * f32(m_j)).
struct Q4_K : detail::OneGroupTask<Q4_K> {
  using Block = gguf::BlockQ4_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 144;
  static constexpr bool kIsKQuant = true;
  static constexpr int kTaskGroups = 4;
  static constexpr int kMmaTaskGroups = 4;
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    detail::scale_min_groups<kN>(
        b, j0,
        [b](int j, int l) {
          return detail::nibbles(detail::load8<8>(b + 16 + 32 * (j >> 1) + l), 4 * (j & 1));
        },
        y);
  }
  // The register-weight kernel's elements of lane quad position t (0..3) of sub-block j of the
  // block at b (4-byte aligned): y[2i], y[2i + 1] = elements 8i + 2t and 8i + 2t + 1 of the
  // sub-block (nibble j % 2 of quant bytes 32 (j / 2) + 8i + 2t and the one after, a 16-bit load
  // per pair), with the sub-block's scale and min; zeros when !live.
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int j, int t,
                                                               bool live, float (&y)[8]) {
    const unsigned char* qs = b + 16 + 32 * (j >> 1) + 2 * t;
    const unsigned lo = detail::quad_pair_word(qs);
    const unsigned hi = detail::quad_pair_word(qs + 16);
    float dl = 0.0f;
    float ml = 0.0f;
    detail::scale_min_k4(detail::Staged{b, 0u}, j, dl, ml);
    if (!live) dl = ml = 0.0f;
    detail::scale_sub8(detail::nibbles(make_uint2(lo, hi), 4 * (j & 1)), dl, ml, y);
  }
};

// As Q4_K with q = nibble + 16 * ((qh[l] >> j) & 1), j = i / 32, l = i % 32.
struct Q5_K : detail::OneGroupTask<Q5_K> {
  using Block = gguf::BlockQ5_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 176;
  static constexpr bool kIsKQuant = true;
  static constexpr int kTaskGroups = 2;
  static constexpr int kMmaTaskGroups = 2;
  static constexpr int kStoreBatch = 1;  // not the default 4: see the top
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    detail::scale_min_groups<kN>(
        b, j0,
        [b](int j, int l) {
          uint2 q = detail::nibbles(detail::load8<8>(b + 48 + 32 * (j >> 1) + l), 4 * (j & 1));
          const uint2 hi = detail::load8<8>(b + 16 + l);
          q.x |= ((hi.x >> j) & 0x01010101u) << 4;
          q.y |= ((hi.y >> j) & 0x01010101u) << 4;
          return q;
        },
        y);
  }
};

// i = 128h + 32r + l: lo = nibble (r & 2 ? high : low) of ql[64h + 32(r & 1) + l],
// hi = (qh[32h + l] >> 2r) & 3, q = (lo | hi << 4) - 32; y = (d * f32(scales[i / 16])) * f32(q).
struct Q6_K : detail::OneGroupTask<Q6_K> {
  using Block = gguf::BlockQ6_K;
  static constexpr int kBlockElems = 256;
  static constexpr int kBlockBytes = 210;
  static constexpr bool kIsKQuant = true;
  static constexpr int kTaskGroups = 2;
  static constexpr int kMmaTaskGroups = 2;
  // One load of the kN groups' low and high bits; a scale per 16-element half.
  template <int kN>
  static __device__ __forceinline__ void dequantize_groups(detail::Staged b, int j0,
                                                           float (&y)[kN][8]) {
    constexpr int kHalves = kN == 4 ? 2 : 1;
    const int h = j0 >> 7;
    const int r = (j0 >> 5) & 3;
    const int l0 = j0 & (32 - 8 * kN);  // j0 % 32, 0 when the task is the whole sub-block
    float dl[kHalves];
#pragma unroll
    for (int t = 0; t < kHalves; ++t) {
      const unsigned char sc = b[192 + (j0 >> 4) + t];
      dl[t] = detail::q6_k_scale(detail::half_at(b + 208), sc);
    }
    unsigned lo[2 * kN], hi[2 * kN];
    detail::load_words<2 * kN, 2>(b + 64 * h + 32 * (r & 1) + l0, lo);
    detail::load_words<2 * kN, 2>(b + 128 + 32 * h + l0, hi);
#pragma unroll
    for (int u = 0; u < kN; ++u) {
      uint2 q = detail::nibbles(make_uint2(lo[2 * u], lo[2 * u + 1]), 4 * (r >> 1));
      q.x |= ((hi[2 * u] >> (2 * r)) & 0x03030303u) << 4;
      q.y |= ((hi[2 * u + 1] >> (2 * r)) & 0x03030303u) << 4;
      detail::scale8<32>(q, dl[u * kHalves / kN], y[u]);
    }
  }
  // The register-weight kernel's elements of lane quad position t (0..3) of sub-block j = 4h + r
  // of the block at b (2-byte aligned): y[2i], y[2i + 1] = elements 8i + 2t and 8i + 2t + 1 of
  // the sub-block (a 16-bit load per pair of low-bit bytes and of high-bit bytes); y[0..3] lie in
  // the sub-block's first 16-element half and take scale 2j, y[4..7] scale 2j + 1; zeros when
  // !live.
  static __device__ __forceinline__ void dequantize_quad_pairs(const unsigned char* b, int j, int t,
                                                               bool live, float (&y)[8]) {
    const int h = j >> 2;
    const int r = j & 3;
    const unsigned char* ql = b + 64 * h + 32 * (r & 1) + 2 * t;
    const unsigned char* qh = b + 128 + 32 * h + 2 * t;
    uint2 q = detail::nibbles(
        make_uint2(detail::quad_pair_word(ql), detail::quad_pair_word(ql + 16)), 4 * (r >> 1));
    q.x |= ((detail::quad_pair_word(qh) >> (2 * r)) & 0x03030303u) << 4;
    q.y |= ((detail::quad_pair_word(qh + 16) >> (2 * r)) & 0x03030303u) << 4;
    const float d = live ? detail::half_at(b + 208) : 0.0f;
    float dl[2];
#pragma unroll
    for (int x = 0; x < 2; ++x) dl[x] = detail::q6_k_scale(d, b[192 + 2 * j + x]);
    detail::Scale8<32>(dl[0]).word(q.x, y);
    detail::Scale8<32>(dl[1]).word(q.y, y + 4);
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
