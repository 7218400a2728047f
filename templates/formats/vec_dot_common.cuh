// Building blocks of the integer dot-product traits (namespace moejit::vecdot): read-only global
// loads for 2-, 4- and 16-byte aligned block fields, the q8_1 activation block in registers, the
// decoded 32-element weight sub-block, and the f32 contribution of one sub-block pair.
#pragma once

#include "formats/blocks.cuh"

namespace moejit {
namespace vecdot {

// ---------------------------------------------------------------------------------------------
// Loads. kShared false: p is into global memory that no kernel of the call writes (weights, or
// the q8_1 staging written by an earlier launch), so the read-only path (ld.global.nc) is safe.
// kShared true: p is into shared memory (weight blocks a kernel staged there), plain loads.
// kSegment (global loads only; 0, 128 or 256): the load asks L2 for the kSegment-byte segment
// around it (.L2::128B / .L2::256B), so that DRAM serves a weight row's neighbouring bytes, which
// the warp's next loads read, in one piece. Each traits struct sets the size that was fastest on
// an H100 (docs/benchmarks.md): 256 for the k-quants and the dense decode kernel's weight rows,
// 128 for the 32-element formats (whose loads 256 made slightly slower).

template <bool kShared = false, int kSegment = 0>
__device__ __forceinline__ unsigned ld_u16(const unsigned char* p) {
  static_assert(kSegment == 0 || kSegment == 128 || kSegment == 256, "0, 128 or 256 bytes");
  if constexpr (kShared) {
    return *reinterpret_cast<const unsigned short*>(p);
  } else if constexpr (kSegment == 256) {
    unsigned short v;
    asm("ld.global.nc.L2::256B.u16 %0, [%1];" : "=h"(v) : "l"(p));
    return v;
  } else if constexpr (kSegment == 128) {
    unsigned short v;
    asm("ld.global.nc.L2::128B.u16 %0, [%1];" : "=h"(v) : "l"(p));
    return v;
  } else {
    return __ldg(reinterpret_cast<const unsigned short*>(p));
  }
}
template <bool kShared = false, int kSegment = 0>
__device__ __forceinline__ unsigned ld_u32(const unsigned char* p) {
  static_assert(kSegment == 0 || kSegment == 128 || kSegment == 256, "0, 128 or 256 bytes");
  if constexpr (kShared) {
    return *reinterpret_cast<const unsigned int*>(p);
  } else if constexpr (kSegment == 256) {
    unsigned v;
    asm("ld.global.nc.L2::256B.u32 %0, [%1];" : "=r"(v) : "l"(p));
    return v;
  } else if constexpr (kSegment == 128) {
    unsigned v;
    asm("ld.global.nc.L2::128B.u32 %0, [%1];" : "=r"(v) : "l"(p));
    return v;
  } else {
    return __ldg(reinterpret_cast<const unsigned int*>(p));
  }
}
// kKeepL1 false (16-byte loads with the 256-byte segment only): .L1::no_allocate, see
// ld_u128_once.
template <bool kShared = false, int kSegment = 0, bool kKeepL1 = true>
__device__ __forceinline__ uint4 ld_u128(const unsigned char* p) {
  static_assert(kSegment == 0 || kSegment == 256, "0 or 256 bytes");
  static_assert(kKeepL1 || (!kShared && kSegment == 256), "no_allocate: 256-byte global loads");
  if constexpr (kShared) {
    return *reinterpret_cast<const uint4*>(p);
  } else if constexpr (kSegment == 256 && !kKeepL1) {
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
  } else if constexpr (kSegment == 256) {
    uint4 v;
    asm("ld.global.nc.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
  } else {
    return __ldg(reinterpret_cast<const uint4*>(p));
  }
}

// A 16-byte global load of bytes the CTA reads once (the dense decode kernel's weight rows): the
// 256-byte L2 segment as ld_u128<false, 256>, but not kept in L1 (.L1::no_allocate), so the
// streamed rows do not evict the activation rows the CTA's warps share. Not for loads whose
// neighbours a later load of the same lane reads: the k-quant and 32-element decoders lose up to
// 2x without L1 (docs/benchmarks.md).
__device__ __forceinline__ uint4 ld_u128_once(const unsigned char* p) {
  return ld_u128<false, 256, false>(p);
}

// 0 when p is 4-byte aligned, 2 when it is only 2-byte aligned.
__device__ __forceinline__ unsigned misalignment2(const unsigned char* p) {
  return static_cast<unsigned>(reinterpret_cast<unsigned long long>(p)) & 2u;
}

// out[k] = the little-endian 32-bit word at bytes [p + 4k, p + 4k + 4), for a p that is only
// 2-byte aligned. Reads exactly the bytes [p, p + 4 * kWords): kWords - 1 aligned 32-bit loads
// plus two 16-bit loads, and the same instruction sequence whatever the alignment of p.
template <int kWords, bool kShared = false, int kSegment = 0>
__device__ __forceinline__ void ld_words_a2(const unsigned char* p, unsigned (&out)[kWords]) {
  static_assert(kWords >= 1, "at least one word");
  const unsigned mis = misalignment2(p);
  const unsigned char* aligned = p + mis;  // 4-byte aligned
  unsigned mid[kWords > 1 ? kWords - 1 : 1];
#pragma unroll
  for (int k = 0; k + 1 < kWords; ++k) mid[k] = ld_u32<kShared, kSegment>(aligned + 4 * k);
  const unsigned lo = ld_u16<kShared, kSegment>(mis ? p : p + 4 * kWords - 4);
  const unsigned hi = ld_u16<kShared, kSegment>(p + 4 * kWords - 2);
  if constexpr (kWords == 1) {
    out[0] = lo | (hi << 16);
  } else {
#pragma unroll
    for (int k = 0; k < kWords; ++k) {
      unsigned shifted;
      if (k == 0)
        shifted = lo | (mid[0] << 16);
      else if (k == kWords - 1)
        shifted = (mid[k - 1] >> 16) | (hi << 16);
      else
        shifted = __funnelshift_r(mid[k - 1], mid[k], 16);
      const unsigned plain = (k == kWords - 1) ? (lo | (hi << 16)) : mid[k];
      out[k] = mis ? shifted : plain;
    }
  }
}

// For a block of 4 * kWords + 2 bytes at a 2-byte aligned address whose first two bytes are a
// 16-bit field (q4_0, q5_0, q8_0): returns that field and sets body[k] to the word at block bytes
// [2 + 4k, 6 + 4k). Reads exactly the block: kWords aligned 32-bit loads and one 16-bit load.
template <int kWords, bool kShared = false, int kSegment = 0>
__device__ __forceinline__ unsigned ld_head_block_a2(const unsigned char* blk,
                                                     unsigned (&body)[kWords]) {
  const unsigned mis = misalignment2(blk);
  const unsigned char* aligned = blk + mis;  // 4-byte aligned
  unsigned w[kWords];
#pragma unroll
  for (int k = 0; k < kWords; ++k) w[k] = ld_u32<kShared, kSegment>(aligned + 4 * k);
  const unsigned u = ld_u16<kShared, kSegment>(mis ? blk : blk + 4 * kWords);
#pragma unroll
  for (int k = 0; k < kWords; ++k)
    body[k] = mis ? w[k] : __funnelshift_r(w[k], k + 1 < kWords ? w[k + 1] : u, 16);
  return mis ? u : (w[0] & 0xFFFFu);
}

// Byte b (run-time 0..3) of one word.
__device__ __forceinline__ unsigned byte_of(unsigned w, int b) { return (w >> (8 * b)) & 0xFFu; }

// The four low bits of x moved to bit 0 of the four bytes: (x & 1) | (x & 2) << 7 | ...
// (the shifted copies x, x << 7, x << 14, x << 21 do not overlap, so the product has no carries).
__device__ __forceinline__ unsigned spread4(unsigned x) { return (x * 0x00204081u) & 0x01010101u; }

__device__ __forceinline__ float half_to_f32(unsigned bits) {
  return gguf::half_bits_to_float(static_cast<unsigned short>(bits & 0xFFFFu));
}

// ---------------------------------------------------------------------------------------------
// One q8_1 activation block in registers.
struct ActBlock {
  int q[8];    // the 32 int8 values; element 4k + b is byte b of q[k]
  float d;     // f32(half d)
  int sum_lo;  // exact integer sum of elements 0..15
  int sum_hi;  // exact integer sum of elements 16..31
};

// Loads one q8_1 block (4-byte aligned: the staging area is 256-byte aligned and blocks are 36
// bytes). The integer sums come from dp4a against 0x01010101, never from the half s field.
__device__ __forceinline__ ActBlock load_act(const gguf::BlockQ8_1* blk) {
  const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
  ActBlock a;
  const unsigned ds = ld_u32(b);
#pragma unroll
  for (int k = 0; k < 8; ++k) a.q[k] = static_cast<int>(ld_u32(b + 4 + 4 * k));
  a.d = half_to_f32(ds);
  int lo = 0, hi = 0;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    lo = __dp4a(a.q[k], 0x01010101, lo);
    hi = __dp4a(a.q[k + 4], 0x01010101, hi);
  }
  a.sum_lo = lo;
  a.sum_hi = hi;
  return a;
}

// Loads two consecutive q8_1 blocks starting at an 8-byte aligned address (the 72-byte pair of a
// k-quant chunk: rows of the staging area are multiples of 288 bytes when size_k % 256 == 0) with
// nine 64-bit loads instead of eighteen 32-bit ones.
__device__ __forceinline__ void load_act_pair(const gguf::BlockQ8_1* first, ActBlock (&a)[2]) {
  const unsigned long long* p = reinterpret_cast<const unsigned long long*>(first);
  unsigned w[18];
#pragma unroll
  for (int k = 0; k < 9; ++k) {
    const unsigned long long v = __ldg(p + k);
    w[2 * k] = static_cast<unsigned>(v);
    w[2 * k + 1] = static_cast<unsigned>(v >> 32);
  }
#pragma unroll
  for (int t = 0; t < 2; ++t) {
    a[t].d = half_to_f32(w[9 * t]);
    int lo = 0, hi = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) a[t].q[k] = static_cast<int>(w[9 * t + 1 + k]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      lo = __dp4a(a[t].q[k], 0x01010101, lo);
      hi = __dp4a(a[t].q[k + 4], 0x01010101, hi);
    }
    a[t].sum_lo = lo;
    a[t].sum_hi = hi;
  }
}

// ---------------------------------------------------------------------------------------------
// One decoded 32-element weight sub-block. The weight value of element x is
//   w_x = scale[g] * (v_x - kOffset) + min[g]      with g = x / 16 when kGroups == 2, else 0,
// where v_x is byte (x % 4) of v[x / 4] (a non-negative code, or the signed q8_0 value) and
// scale, min, kOffset are exactly the f32 factors of ggml's dequantization formula (min is the
// already negated term for the k-quants: w = (D*sc)*q - (M*mn)).
template <int kGroups, bool kHasMin>
struct SubWeights {
  int v[8];
  float scale[kGroups];
  float min[kHasMin ? kGroups : 1];
};

// f32 contribution of one weight sub-block against one q8_1 block:
//   d_a * sum_g( scale[g] * (dot_g - kOffset * sum_g) + min[g] * sum_g )
// with dot_g = sum of v_x * q_x and sum_g = sum of q_x over the group, both exact integers.
template <class Fmt>
__device__ __forceinline__ float contribution(const typename Fmt::Sub& w, const ActBlock& a) {
  if constexpr (Fmt::kGroups == 1) {
    int dot = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) dot = __dp4a(w.v[k], a.q[k], dot);
    const int sum = a.sum_lo + a.sum_hi;
    if constexpr (Fmt::kOffset != 0) dot -= Fmt::kOffset * sum;
    float r = w.scale[0] * static_cast<float>(dot);
    if constexpr (Fmt::kHasMin) r = fmaf(w.min[0], static_cast<float>(sum), r);
    return a.d * r;
  } else {
    static_assert(Fmt::kGroups == 2, "sub-blocks have one or two scale groups");
    int lo = 0, hi = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      lo = __dp4a(w.v[k], a.q[k], lo);
      hi = __dp4a(w.v[k + 4], a.q[k + 4], hi);
    }
    if constexpr (Fmt::kOffset != 0) {
      lo -= Fmt::kOffset * a.sum_lo;
      hi -= Fmt::kOffset * a.sum_hi;
    }
    float r = w.scale[0] * static_cast<float>(lo);
    r = fmaf(w.scale[1], static_cast<float>(hi), r);
    if constexpr (Fmt::kHasMin) {
      r = fmaf(w.min[0], static_cast<float>(a.sum_lo), r);
      r = fmaf(w.min[1], static_cast<float>(a.sum_hi), r);
    }
    return a.d * r;
  }
}

// The f32 contribution of sub-block j (0 .. Fmt::kSubBlocks-1) of one weight block against the
// q8_1 block holding the same 32 activations. A reference-style entry point; the kernels decode
// a whole chunk (Fmt::kChunkSubs sub-blocks sharing loads) at once instead.
template <class Fmt>
__device__ __forceinline__ float dot_sub(const typename Fmt::Block* blk, int j,
                                         const gguf::BlockQ8_1* act) {
  typename Fmt::Sub w[Fmt::kChunkSubs];
  const int chunk = Fmt::chunk_of(j);
  Fmt::load_chunk(blk, chunk, w);
  const ActBlock a = load_act(act);
  float r = 0.0f;
#pragma unroll
  for (int t = 0; t < Fmt::kChunkSubs; ++t)
    if (Fmt::chunk_sub(chunk, t) == j) r = contribution<Fmt>(w[t], a);
  return r;
}

}  // namespace vecdot
}  // namespace moejit
