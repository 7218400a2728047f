// Cooperative cp.async loaders of the tensor-core kernels: a row tile of 16-bit elements whose rows
// come from arbitrary global addresses (gathered activation rows, or weight rows), and the raw GGUF
// block bytes of weight rows.
#pragma once

#include "moe_params.cuh"
#include "tc/ptx.cuh"

namespace moejit {
namespace tc {

// Element offset of (row r, column col) in a 128-byte-swizzled tile of kRows rows: column panels
// of 64 elements, [kRows][64] each; 8-element chunk j of a panel row at position j ^ (r % 8).
template <int kRows>
__device__ __forceinline__ int swizzled_offset(int r, int col) {
  return (col >> 6) * (kRows * 64) + r * 64 + ((((col >> 3) & 7) ^ (r & 7)) << 3);
}

// The activation row that entry `entry` of m-tile [begin, end) reads (row pair_id with top-k
// weights, else pair_id / top_k), or nullptr for padding, a skipped pair id or a row past
// input_rows (such rows load as zeros).
template <class T>
__device__ __forceinline__ const T* activation_row(const MoeParams& p, int entry, int end,
                                                   int size_k) {
  if (entry >= end) return nullptr;
  const int pair_id = p.sorted_ids[entry];
  if (pair_id < 0 || pair_id >= p.num_pairs) return nullptr;
  const int in_row =
      p.topk_weights != nullptr ? pair_id : (p.top_k > 0 ? pair_id / p.top_k : pair_id);
  if (in_row >= p.input_rows) return nullptr;
  return static_cast<const T*>(p.activations) + static_cast<long long>(in_row) * size_k;
}

// The first byte of expert e's weights.
__device__ __forceinline__ const unsigned char* expert_weights(const MoeParams& p, int e) {
  return static_cast<const unsigned char*>(p.weights) +
         static_cast<long long>(e) * p.weight_expert_stride;
}

// Weight row n of the expert whose weights start at expert_w, or nullptr past size_n.
template <class T>
__device__ __forceinline__ const T* weight_row(const MoeParams& p, const unsigned char* expert_w,
                                               int n, int size_n) {
  if (n >= size_n) return nullptr;
  return reinterpret_cast<const T*>(expert_w + static_cast<long long>(n) * p.weight_row_stride);
}

// Loads kRows x kBK elements of T into a shared tile [kRows][kLd] (kLd >= kBK, kLd % 8 == 0), in
// 16-byte chunks: chunk c of the tile is row c / (kBK / 8), elements (c % (kBK / 8)) * 8 .. + 8.
// Thread tid owns chunks tid, tid + kThreads, ... for every K step, so it keeps in registers the
// global address of each of its chunks at K = 0 and a mask of the chunks whose row is live (a
// null row is padding and reads as zeros). Columns at or past K read as zeros; K % 8 == 0 is
// required so a chunk is never partial.
// kSwizzle128: the tile is stored as wgmma reads it (tc/wgmma_ptx.cuh, kLd == 64, kBK a multiple
// of 64): kBK / 64 column panels of [kRows][64] elements one after the other, chunk j of row r of
// a panel at chunk position j ^ (r % 8) of the row; the tile must start at a multiple of 1024
// bytes (tc::swizzled_offset). kPrefetch256: the copies use cp_async16<256>.
template <class T, int kRows, int kBK, int kLd, int kThreads, bool kSwizzle128 = false,
          bool kPrefetch256 = false>
struct RowTileLoader {
  static_assert(kBK % 8 == 0 && kLd % 8 == 0 && (kSwizzle128 || kLd >= kBK), "16-byte chunks");
  static_assert(!kSwizzle128 || (kBK % 64 == 0 && kLd == 64 && sizeof(T) == 2),
                "128-byte swizzle atoms hold rows of 64 16-bit elements");
  static constexpr int kChunksPerRow = kBK / 8;
  static constexpr int kChunks = kRows * kChunksPerRow;
  static constexpr int kIters = (kChunks + kThreads - 1) / kThreads;
  static_assert(kIters <= 32, "at most 32 chunks per thread (one mask bit each)");

  const T* src[kIters];  // the chunk's first element at K = 0 (the fallback for padding rows)
  unsigned live;         // bit it: chunk it's row is live

  // row_address(r) returns the global address of element 0 of tile row r, or nullptr;
  // `fallback` is any valid global address (passed, with a zero byte count, for padding chunks).
  template <class RowAddress>
  __device__ __forceinline__ void init(int tid, RowAddress row_address, const void* fallback) {
    live = 0u;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int c = tid + it * kThreads;
      const T* row =
          (kChunks % kThreads == 0 || c < kChunks) ? row_address(c / kChunksPerRow) : nullptr;
      src[it] = row != nullptr ? row + (c % kChunksPerRow) * 8 : static_cast<const T*>(fallback);
      if (row != nullptr) live |= 1u << it;
    }
  }

  // Issues the copies of columns [k0, k0 + kBK) into `tile`.
  __device__ __forceinline__ void load(T* tile, int k0, int size_k, int tid) const {
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int c = tid + it * kThreads;
      if (kChunks % kThreads == 0 || c < kChunks) {
        const int r = c / kChunksPerRow;
        const int col = (c % kChunksPerRow) * 8;
        const bool ok = ((live >> it) & 1u) != 0u && k0 + col < size_k;
        const int pos = kSwizzle128 ? swizzled_offset<kRows>(r, col) : r * kLd + col;
        cp_async16<kPrefetch256 ? 256 : 0>(tile + pos, src[it] + (ok ? k0 : 0), ok ? 16 : 0);
      }
    }
  }
};

// Loads the raw GGUF bytes of kRows weight rows for one K step into a shared staging area of
// kRowBytes per row. The bytes of a row are [s, s + len) with s = row + first_byte; they are copied
// as the 16-byte-aligned chunks covering them, starting at s & ~15, so the block data of the row
// begins at offset (s & 15) of its staging row. The final chunk copies only the bytes below
// s + len (cp.async zero-fills the rest); bytes before s in the first chunk belong to the same
// weight tensor when its base address is 16-byte aligned (a precondition). A chunk whose 16 bytes
// would reach past `limit` (the end of the weight tensor) is copied with 2-byte loads instead, so
// that no access, not even the nominal 16 bytes of a shortened cp.async, leaves the tensor; only
// rows that end within 16 bytes of `limit` can have such a chunk, and init marks them, so the
// copies of every other row skip the check. Rows with a null address are not touched. Each copy
// asks L2 for its 128-byte segment: a K step reads a few dozen bytes of each row and the next steps
// read on, so DRAM serves whole segments instead of a step's pieces.
// Thread tid owns chunks tid, tid + kThreads, ... for every K step: init keeps each one's row
// address, staging offset and 16 * (chunk index in the row), so a step costs a few 32-bit
// operations per chunk. Fast path (rows_aligned, the usual case): when every row starts at a
// multiple of 16 bytes and none of this thread's rows ends within kRowBytes bytes of limit,
// each live chunk is copied whole from row + (first_byte & ~15) + 16 * index, without sizes or
// checks; bytes past the step's blocks (up to kRowBytes past them, all inside the weight tensor)
// land in the staging row's slack and are never read.
template <int kRows, int kChunksPerRow, int kThreads>
struct RawRowLoader {
  static constexpr int kRowBytes = kChunksPerRow * 16;
  static constexpr int kChunks = kRows * kChunksPerRow;
  static constexpr int kIters = (kChunks + kThreads - 1) / kThreads;
  static_assert(kIters <= 32, "at most 32 chunks per thread (one mask bit each)");

  const unsigned char* rows[kIters];  // the chunk's row, or nullptr
  int dst[kIters];                    // the chunk's offset in the staging area
  int ch16[kIters];                   // 16 * the chunk's index in its row
  unsigned live;                      // bit it: chunk it's row is copied
  unsigned near_end;                  // bit it: chunk it's row ends within 16 bytes of limit
  bool whole_copies;                  // no row of this thread's ends within kRowBytes of limit

  // row_address(r) returns the global address of tile row r, or nullptr; row_bytes: the bytes of
  // a row (no step reads past them); limit: one past the last byte of the weight tensor.
  template <class RowAddress>
  __device__ __forceinline__ void init(int tid, RowAddress row_address, long long row_bytes,
                                       unsigned long long limit) {
    live = 0u;
    near_end = 0u;
    whole_copies = true;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int c = tid + it * kThreads;
      const bool in_tile = kChunks % kThreads == 0 || c < kChunks;
      const int r = c / kChunksPerRow;
      rows[it] = in_tile ? row_address(r) : nullptr;
      ch16[it] = (c - r * kChunksPerRow) * 16;
      dst[it] = r * kRowBytes + ch16[it];
      if (rows[it] != nullptr) {
        live |= 1u << it;
        const unsigned long long row_end =
            reinterpret_cast<unsigned long long>(rows[it]) + row_bytes;
        // A chunk starts before s + len <= row + row_bytes, so it ends before row + row_bytes + 15.
        if (row_end + 15 > limit) near_end |= 1u << it;
        // A whole copy ends before row + row_bytes + kRowBytes (first_byte < row_bytes and
        // 16 * index <= kRowBytes - 16).
        if (row_end + kRowBytes > limit) whole_copies = false;
      }
    }
  }

  // first_byte: offset of the K step's first block in a row; len: bytes of the step's blocks
  // (even, at most kRowBytes - 15); limit: as init's; rows_aligned: every row starts at a multiple
  // of 16 bytes (the fast path).
  __device__ __forceinline__ void load(unsigned char* stage, int first_byte, int len,
                                       unsigned long long limit, bool rows_aligned) const {
    if (rows_aligned && whole_copies) {
      const int first16 = first_byte & ~15;
#pragma unroll
      for (int it = 0; it < kIters; ++it)
        if (((live >> it) & 1u) != 0u)
          cp_async16_full<128>(stage + dst[it], rows[it] + (first16 + ch16[it]));
      return;
    }
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      if (((live >> it) & 1u) == 0u) continue;
      const int mis =
          static_cast<int>((static_cast<unsigned>(reinterpret_cast<unsigned long long>(rows[it])) +
                            static_cast<unsigned>(first_byte)) &
                           15u);
      const int left = len + mis - ch16[it];
      if (left <= 0) continue;
      const unsigned char* chunk = rows[it] + (first_byte - mis + ch16[it]);
      const int bytes = left < 16 ? left : 16;
      unsigned char* d = stage + dst[it];
      if (((near_end >> it) & 1u) == 0u ||
          reinterpret_cast<unsigned long long>(chunk) + 16 <= limit) {
        cp_async16<128>(d, chunk, bytes);
      } else {
        for (int b = 0; b < bytes; b += 2)
          *reinterpret_cast<unsigned short*>(d + b) =
              *reinterpret_cast<const unsigned short*>(chunk + b);
      }
    }
  }
};

}  // namespace tc
}  // namespace moejit
