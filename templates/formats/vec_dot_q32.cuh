// Integer dot-product traits of the 32-element GGUF formats (q4_0, q4_1, q5_0, q5_1, q8_0):
// each block is one sub-block and one chunk. See vec_dot_common.cuh for the decoded form.
#pragma once

#include "formats/vec_dot_common.cuh"

namespace moejit {
namespace vecdot {

// Members every traits struct of this namespace has:
//   Block             device block struct (formats/blocks.cuh)
//   kBlockElems       elements per block (32 or 256)
//   kBlockBytes       bytes per block
//   kSubBlocks        32-element sub-blocks per block (= q8_1 blocks per weight block)
//   kChunkSubs        sub-blocks one lane decodes together (they share loads)
//   kChunksPerBlock   kSubBlocks / kChunkSubs
//   kActPairs         the chunk's sub-blocks are two adjacent ones (2c, 2c + 1), so their q8_1
//                     blocks can be loaded as one 8-byte aligned 72-byte pair
//   kWeightAlign      alignment in bytes the loads assume for every block address
//   kSegment          the segment (bytes) the chunk loads ask L2 for (vec_dot_common.cuh)
//   kGroups, kHasMin, kOffset, Sub   the decoded form (SubWeights)
//   chunk_sub(c, t)   sub-block index of slot t of chunk c;  chunk_of(j): the chunk of sub-block j
//   load_chunk(blk, c, w)   decodes the kChunkSubs sub-blocks of chunk c of block blk into w;
//                     load_chunk<true> reads a block staged in shared memory instead of global
struct SingleChunk {
  static constexpr int kSubBlocks = 1;
  static constexpr int kChunkSubs = 1;
  static constexpr int kChunksPerBlock = 1;
  static constexpr bool kActPairs = false;
  static constexpr int kSegment = 128;  // chunk loads ask L2 for 128-byte segments
  __device__ static __forceinline__ int chunk_sub(int, int) { return 0; }
  __device__ static __forceinline__ int chunk_of(int) { return 0; }
};

// q4_0: y = f32(nibble - 8) * D. qs[i] low nibble is element i, high nibble element i + 16.
struct Q4_0 : SingleChunk {
  using Block = gguf::BlockQ4_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 18;
  static constexpr int kWeightAlign = 2;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 8;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int, Sub (&w)[1]) {
    unsigned qs[4];
    const unsigned d =
        ld_head_block_a2<4, kShared, kSegment>(reinterpret_cast<const unsigned char*>(blk), qs);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      w[0].v[k] = static_cast<int>(qs[k] & 0x0F0F0F0Fu);
      w[0].v[k + 4] = static_cast<int>((qs[k] >> 4) & 0x0F0F0F0Fu);
    }
    w[0].scale[0] = half_to_f32(d);
  }
};

// q4_1: y = f32(nibble) * D + M.
struct Q4_1 : SingleChunk {
  using Block = gguf::BlockQ4_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 20;
  static constexpr int kWeightAlign = 4;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int, Sub (&w)[1]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const unsigned dm = ld_u32<kShared, kSegment>(b);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const unsigned qs = ld_u32<kShared, kSegment>(b + 4 + 4 * k);
      w[0].v[k] = static_cast<int>(qs & 0x0F0F0F0Fu);
      w[0].v[k + 4] = static_cast<int>((qs >> 4) & 0x0F0F0F0Fu);
    }
    w[0].scale[0] = half_to_f32(dm);
    w[0].min[0] = half_to_f32(dm >> 16);
  }
};

// Sets v to the 5-bit codes nibble | (bit x of qh) << 4 of a q5 block.
__device__ __forceinline__ void decode_q5(const unsigned (&qs)[4], unsigned qh, int (&v)[8]) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const unsigned hlo = spread4((qh >> (4 * k)) & 0xFu) << 4;
    const unsigned hhi = spread4((qh >> (16 + 4 * k)) & 0xFu) << 4;
    v[k] = static_cast<int>((qs[k] & 0x0F0F0F0Fu) | hlo);
    v[k + 4] = static_cast<int>(((qs[k] >> 4) & 0x0F0F0F0Fu) | hhi);
  }
}

// q5_0: y = f32(q - 16) * D with q = nibble | (bit i of the little-endian u32 qh) << 4.
struct Q5_0 : SingleChunk {
  using Block = gguf::BlockQ5_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 22;
  static constexpr int kWeightAlign = 2;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 16;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int, Sub (&w)[1]) {
    unsigned body[5];  // qh, qs[0..15]
    const unsigned d =
        ld_head_block_a2<5, kShared, kSegment>(reinterpret_cast<const unsigned char*>(blk), body);
    const unsigned qs[4] = {body[1], body[2], body[3], body[4]};
    decode_q5(qs, body[0], w[0].v);
    w[0].scale[0] = half_to_f32(d);
  }
};

// q5_1: y = f32(q) * D + M, q as in q5_0.
struct Q5_1 : SingleChunk {
  using Block = gguf::BlockQ5_1;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 24;
  static constexpr int kWeightAlign = 4;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int, Sub (&w)[1]) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(blk);
    const unsigned dm = ld_u32<kShared, kSegment>(b);
    const unsigned qh = ld_u32<kShared, kSegment>(b + 4);
    unsigned qs[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) qs[k] = ld_u32<kShared, kSegment>(b + 8 + 4 * k);
    decode_q5(qs, qh, w[0].v);
    w[0].scale[0] = half_to_f32(dm);
    w[0].min[0] = half_to_f32(dm >> 16);
  }
};

// q8_0: y = f32(qs[i]) * D; the codes are the signed values themselves.
struct Q8_0 : SingleChunk {
  using Block = gguf::BlockQ8_0;
  static constexpr int kBlockElems = 32;
  static constexpr int kBlockBytes = 34;
  static constexpr int kWeightAlign = 2;
  static constexpr int kGroups = 1;
  static constexpr bool kHasMin = false;
  static constexpr int kOffset = 0;
  using Sub = SubWeights<kGroups, kHasMin>;
  template <bool kShared = false>
  __device__ static __forceinline__ void load_chunk(const Block* blk, int, Sub (&w)[1]) {
    unsigned qs[8];
    const unsigned d =
        ld_head_block_a2<8, kShared, kSegment>(reinterpret_cast<const unsigned char*>(blk), qs);
#pragma unroll
    for (int k = 0; k < 8; ++k) w[0].v[k] = static_cast<int>(qs[k]);
    w[0].scale[0] = half_to_f32(d);
  }
};

}  // namespace vecdot
}  // namespace moejit
