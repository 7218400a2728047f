// Integer dot-product traits of the 256-element GGUF k-quants (q2_K, q3_K, q4_K, q5_K, q6_K).
// A chunk is two 32-element sub-blocks that share their quant bytes, so one lane loads them once.
#pragma once

#include "formats/vec_dot_common.cuh"

namespace moejit {
namespace vecdot {

// Sub-blocks 2c and 2c + 1 form chunk c, so their q8_1 blocks are adjacent (kActPairs).
struct PairedChunks {
  static constexpr int kBlockElems = gguf::kQK_K;
  static constexpr int kSubBlocks = 8;
  static constexpr int kChunkSubs = 2;
  static constexpr int kChunksPerBlock = 4;
  static constexpr bool kActPairs = true;
  static constexpr int kSegment = 256;  // chunk loads ask L2 for 256-byte segments
  __device__ static __forceinline__ int chunk_sub(int c, int t) { return 2 * c + t; }
  __device__ static __forceinline__ int chunk_of(int j) { return j >> 1; }
};

// q2_K. Element i = 128h + 32j + l: q = (qs[32h + l] >> 2j) & 3, sc = scales[i / 16],
// y = (D * f32(sc & 0xF)) * f32(q) - (M * f32(sc >> 4)). Sub-block 4h + j; chunk c holds
// j = 2(c % 2), 2(c % 2) + 1 of half h = c / 2, both reading qs[32h .. 32h + 32).
struct Q2_K : PairedChunks {
  using Block = gguf::BlockQ2_K;
  static constexpr int kBlockBytes = 84;
  static constexpr int kWeightAlign = 4;
  static constexpr int kGroups = 2;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int c, Sub (&w)[2]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const int h = c >> 1;
    unsigned qs[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) qs[k] = ld_u32<kShared, kSegment>(b + 16 + 32 * h + 4 * k);
    const unsigned sc = ld_u32<kShared, kSegment>(b + 4 * c);  // scale bytes of groups 4c .. 4c + 3
    const unsigned dd = ld_u32<kShared, kSegment>(b + 80);
    const float d = half_to_f32(dd);
    const float dmin = half_to_f32(dd >> 16);
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int j = 2 * (c & 1) + t;
#pragma unroll
      for (int k = 0; k < 8; ++k) w[t].v[k] = static_cast<int>((qs[k] >> (2 * j)) & 0x03030303u);
#pragma unroll
      for (int g = 0; g < 2; ++g) {
        const unsigned s = byte_of(sc, 2 * t + g);
        w[t].scale[g] = d * static_cast<float>(s & 0xFu);
        w[t].min[g] = -(dmin * static_cast<float>(s >> 4));
      }
    }
  }
};

// q3_K. Element i = 128h + 32j + l: lo = (qs[32h + l] >> 2j) & 3, hb = (hmask[l] >> (4h + j)) & 1,
// q = lo - (hb ? 0 : 4) = (lo | hb << 2) - 4, y = (D * f32(S[i / 16] - 32)) * f32(q) with the
// 6-bit scales S unpacked from scales[12]. Chunks as in q2_K.
struct Q3_K : PairedChunks {
  using Block = gguf::BlockQ3_K;
  static constexpr int kBlockBytes = 110;
  static constexpr int kWeightAlign = 2;
  static constexpr int kGroups = 2;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 4;
  using Sub = SubWeights<kGroups, kHasMin>;
  // S[t] for t in 0..15 from the scale words s0 = s[0..3], s1 = s[4..7], s2 = s[8..11]: the low
  // nibble is bits 4 * (t / 8) of s[t % 8], the two high bits are bits 2 * (t / 4) of
  // s[8 + t % 4].
  __device__ static __forceinline__ int scale6(unsigned s0, unsigned s1, unsigned s2, int t) {
    const unsigned low = ((((t & 4) != 0 ? s1 : s0) >> (8 * (t & 3) + 4 * (t >> 3))) & 0xFu);
    const unsigned high = (s2 >> (8 * (t & 3) + 2 * (t >> 2))) & 3u;
    return static_cast<int>(low | (high << 4));
  }
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int c, Sub (&w)[2]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const int h = c >> 1;
    unsigned hm[8], qs[8], s[3];
    ld_words_a2<8, kShared, kSegment>(b, hm);
    ld_words_a2<8, kShared, kSegment>(b + 32 + 32 * h, qs);
    ld_words_a2<3, kShared, kSegment>(b + 96, s);
    const float d = half_to_f32(ld_u16<kShared, kSegment>(b + 108));
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int j = 2 * (c & 1) + t;
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const unsigned lo = (qs[k] >> (2 * j)) & 0x03030303u;
        const unsigned hb = (hm[k] >> (4 * h + j)) & 0x01010101u;
        w[t].v[k] = static_cast<int>(lo | (hb << 2));
      }
#pragma unroll
      for (int g = 0; g < 2; ++g)
        w[t].scale[g] = d * static_cast<float>(scale6(s[0], s[1], s[2], 2 * (4 * h + j) + g) - 32);
    }
  }
};

// q4_K. Element i = 64c + 32t + l: q = t == 0 ? qs[32c + l] & 0xF : qs[32c + l] >> 4,
// y = (D * f32(sc_j)) * f32(q) - (M * f32(mn_j)), j = 2c + t. Chunk c = sub-blocks 2c, 2c + 1.
// Loads: the 16-byte header (d, dmin, scales) and the 32 quant bytes, as three 16-byte loads.
struct Q4_K : PairedChunks {
  using Block = gguf::BlockQ4_K;
  static constexpr int kBlockBytes = 144;
  static constexpr int kWeightAlign = 16;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int c, Sub (&w)[2]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const uint4 hdr = ld_u128<kShared, kSegment>(b);
    const uint4 q0 = ld_u128<kShared, kSegment>(b + 16 + 32 * c);
    const uint4 q1 = ld_u128<kShared, kSegment>(b + 32 + 32 * c);
    const unsigned qs[8] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
    const float d = half_to_f32(hdr.x);
    const float dmin = half_to_f32(hdr.x >> 16);
#pragma unroll
    for (int t = 0; t < 2; ++t) {
#pragma unroll
      for (int k = 0; k < 8; ++k) w[t].v[k] = static_cast<int>((qs[k] >> (4 * t)) & 0x0F0F0F0Fu);
      unsigned sc, mn;
      gguf::scale_min_k4<false>(hdr.y, hdr.z, hdr.w, 2 * c + t, sc, mn);
      w[t].scale[0] = d * static_cast<float>(sc);
      w[t].min[0] = -(dmin * static_cast<float>(mn));
    }
  }
};

// q5_K. As q4_K with q = nibble + 16 * ((qh[l] >> j) & 1). Loads: header, the 32 qh bytes and
// the 32 quant bytes of the chunk, as five 16-byte loads.
struct Q5_K : PairedChunks {
  using Block = gguf::BlockQ5_K;
  static constexpr int kBlockBytes = 176;
  static constexpr int kWeightAlign = 16;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int c, Sub (&w)[2]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const uint4 hdr = ld_u128<kShared, kSegment>(b);
    const uint4 h0 = ld_u128<kShared, kSegment>(b + 16);
    const uint4 h1 = ld_u128<kShared, kSegment>(b + 32);
    const uint4 q0 = ld_u128<kShared, kSegment>(b + 48 + 32 * c);
    const uint4 q1 = ld_u128<kShared, kSegment>(b + 64 + 32 * c);
    const unsigned qh[8] = {h0.x, h0.y, h0.z, h0.w, h1.x, h1.y, h1.z, h1.w};
    const unsigned qs[8] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
    const float d = half_to_f32(hdr.x);
    const float dmin = half_to_f32(hdr.x >> 16);
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int j = 2 * c + t;
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const unsigned nib = (qs[k] >> (4 * t)) & 0x0F0F0F0Fu;
        const unsigned hb = (qh[k] >> j) & 0x01010101u;
        w[t].v[k] = static_cast<int>(nib | (hb << 4));
      }
      unsigned sc, mn;
      gguf::scale_min_k4<false>(hdr.y, hdr.z, hdr.w, j, sc, mn);
      w[t].scale[0] = d * static_cast<float>(sc);
      w[t].min[0] = -(dmin * static_cast<float>(mn));
    }
  }
};

// q6_K. Element i = 128h + 32r + l: lo = low nibble of ql[64h + l] (r = 0), of ql[64h + 32 + l]
// (r = 1), high nibble of ql[64h + l] (r = 2), of ql[64h + 32 + l] (r = 3);
// hi = (qh[32h + l] >> 2r) & 3; q = (lo | hi << 4) - 32; y = (D * f32(scales[i / 16])) * f32(q).
// Sub-block 4h + r. Chunk c = (h = c / 2, r0 = c % 2) holds r = r0 and r = r0 + 2, which share
// the 32 bytes ql[64h + 32 r0 ..]; so its sub-blocks are 4h + r0 and 4h + r0 + 2.
struct Q6_K {
  using Block = gguf::BlockQ6_K;
  static constexpr int kBlockElems = gguf::kQK_K;
  static constexpr int kBlockBytes = 210;
  static constexpr int kSubBlocks = 8;
  static constexpr int kChunkSubs = 2;
  static constexpr int kChunksPerBlock = 4;
  static constexpr bool kActPairs = false;  // sub-blocks 4h + r0 and 4h + r0 + 2
  static constexpr int kSegment = 256;      // chunk loads ask L2 for 256-byte segments
  static constexpr int kWeightAlign = 2;
  static constexpr int kGroups = 2;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 32;
  using Sub = SubWeights<kGroups, kHasMin>;
  __device__ static __forceinline__ int chunk_sub(int c, int t) {
    return 4 * (c >> 1) + (c & 1) + 2 * t;
  }
  __device__ static __forceinline__ int chunk_of(int j) { return 2 * (j >> 2) + (j & 1); }
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int c, Sub (&w)[2]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const int h = c >> 1;
    const int r0 = c & 1;
    unsigned ql[8], qh[8];
    ld_words_a2<8, kShared, kSegment>(b + 64 * h + 32 * r0, ql);
    ld_words_a2<8, kShared, kSegment>(b + 128 + 32 * h, qh);
    // Scales of groups 2(4h + r0), +1 and 2(4h + r0 + 2), +1.
    const unsigned sc[2] = {ld_u16<kShared, kSegment>(b + 192 + 8 * h + 2 * r0),
                            ld_u16<kShared, kSegment>(b + 196 + 8 * h + 2 * r0)};
    const float d = half_to_f32(ld_u16<kShared, kSegment>(b + 208));
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int r = r0 + 2 * t;
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const unsigned lo = (ql[k] >> (4 * t)) & 0x0F0F0F0Fu;
        const unsigned hi = (qh[k] >> (2 * r)) & 0x03030303u;
        w[t].v[k] = static_cast<int>(lo | (hi << 4));
      }
#pragma unroll
      for (int g = 0; g < 2; ++g) {
        const int s = static_cast<signed char>(byte_of(sc[t], g));
        w[t].scale[g] = d * static_cast<float>(s);
      }
    }
  }
};

}  // namespace vecdot
}  // namespace moejit
