// scalar_gguf_kernel: the main launch of a ScalarGguf call with a tile of 1 to 8 entries per
// window (larger windows: scalar_gguf_mma.cuh). Integer dot products (dp4a) of GGUF expert weights
// against the q8_1 activations staged by quantize_q8_1_kernel, f32 output.
#pragma once

#include "formats/blocks.cuh"
#include "formats/vec_dot.cuh"
#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "routed_entry.cuh"
#include "tc/ptx.cuh"

namespace moejit {

namespace scalar_gguf_detail {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

// Adds the decoded chunk `chunk` of block `blk` of each of the warp's kCols rows (w) times the
// same 32-element slices of every member entry's q8_1 activations into acc[column][entry]. One
// member at a time (a run-time loop, so only one member's q8_1 blocks are live); its sums go to
// acc[.][m] through a compile-time select, keeping acc in registers.
template <class Fmt, int kBlockM, int kCols>
__device__ __forceinline__ void dot_members(const typename Fmt::Sub (&w)[kCols][Fmt::kChunkSubs],
                                            int blk, int chunk, unsigned members,
                                            const int (&in_row)[kBlockM],
                                            const gguf::BlockQ8_1* act, long long q8_per_row,
                                            float (&acc)[kCols][kBlockM]) {
  constexpr int kSubs = Fmt::kChunkSubs;
  for (unsigned todo = members; todo != 0; todo &= todo - 1) {
    const int m = __ffs(static_cast<int>(todo)) - 1;
    int row = in_row[0];
#pragma unroll
    for (int mm = 1; mm < kBlockM; ++mm)
      if (mm == m) row = in_row[mm];
    const gguf::BlockQ8_1* arow =
        act + static_cast<long long>(row) * q8_per_row + blk * Fmt::kSubBlocks;
    float x[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) x[c] = 0.0f;
    vecdot::ActBlock a[kSubs];
    if constexpr (Fmt::kActPairs) {
      vecdot::load_act_pair(arow + Fmt::chunk_sub(chunk, 0), a);
    } else {
#pragma unroll
      for (int t = 0; t < kSubs; ++t) a[t] = vecdot::load_act(arow + Fmt::chunk_sub(chunk, t));
    }
#pragma unroll
    for (int t = 0; t < kSubs; ++t)
#pragma unroll
      for (int c = 0; c < kCols; ++c) x[c] += vecdot::contribution<Fmt>(w[c][t], a[t]);
#pragma unroll
    for (int mm = 0; mm < kBlockM; ++mm)
      if (mm == m)
#pragma unroll
        for (int c = 0; c < kCols; ++c) acc[c][mm] += x[c];
  }
}

// Issues the warp's asynchronous copies of segment s (kSegBytes bytes of each of its kCols weight
// rows, fewer in a row's last segment: seg_bytes, a multiple of 16) into one ring slot, laid out
// row after row. 16-byte copies, consecutive lanes on consecutive 16 bytes of a row.
template <int kCols, int kSegBytes>
__device__ __forceinline__ void copy_segment(unsigned char* slot,
                                             const unsigned char* const (&wrow)[kCols], int s,
                                             int seg_bytes, int lane) {
  constexpr int kSegVecs = kSegBytes / 16;
  constexpr int kVecs = kCols * kSegVecs;
  const int vecs = seg_bytes / 16;
#pragma unroll
  for (int i = 0; i < (kVecs + 31) / 32; ++i) {
    const int v = lane + 32 * i;
    const int c = v / kSegVecs;
    const int off = v - c * kSegVecs;
    if (v >= kVecs || off >= vecs) continue;
    const unsigned char* src = wrow[0];
#pragma unroll
    for (int cc = 1; cc < kCols; ++cc)
      if (cc == c) src = wrow[cc];
    tc::cp_async16(slot + c * kSegBytes + 16 * off,
                   src + static_cast<long long>(s) * kSegBytes + 16 * off, 16);
  }
}

}  // namespace scalar_gguf_detail

// Computes, for every entry i < size_m with p = sorted_ids[i] in [0, num_pairs),
// e = expert_ids[i] in [0, num_experts) and in_row = topk_weights ? p : p / top_k < input_rows:
//   out[p, n] = s * sum over the K/32 sub-blocks of (weight sub-block . q8_1 block)
// for n < size_n, with s = topk_weights ? topk_weights[p] : 1 applied once after accumulation.
// Other entries are skipped and their rows left untouched. Row n of expert e is K/qk blocks at
// weights + e * weight_expert_stride + n * weight_row_stride bytes.
//
// Template parameters:
//   Fmt      a moejit::vecdot traits struct (Q4_0 .. Q6_K)
//   kBlockM  entries per CTA window (1..8): entries of one window that share an expert are
//            computed together, so each weight chunk is loaded once for all of them
//   kBlockN  output columns per CTA tile; a multiple of kWarps
//   kWarps   warps per CTA (blockDim.x == 32 * kWarps)
//   kConstN, kConstK  N and K compiled in as constants (0: taken from MoeParams)
//   kBlockK  0: lanes load their chunks straight from global memory. Else the K segment (in
//            elements, a multiple of the block size whose blocks fill whole 16-byte words) that
//            each warp stages through shared memory per step: its rows' segment bytes are copied
//            with coalesced 16-byte cp.async copies (consecutive lanes on consecutive words), and
//            lanes decode their chunks from there. Used when the weights, both strides and the
//            row length in bytes are multiples of 16 (checked in the kernel, uniformly per
//            call); otherwise the kernel takes the direct path.
//   kStages  segments of each warp's ring (kBlockK > 0): kStages - 1 are in flight while one is
//            computed (1: copy, wait, compute)
//
// Geometry: blockIdx.x strides over the ceil(size_m / kBlockM) entry windows (gridDim.x of them
// at a time), blockIdx.y over the ceil(size_n / kBlockN) column tiles (so any size_m and size_n
// fit the grid limits). Within a tile, warp w owns the kBlockN / kWarps consecutive columns
// tile * kBlockN + w * kBlockN / kWarps + c. The lanes split K: lane l takes the chunks
// l, l + 32, .. of the row (a chunk is Fmt::kChunkSubs sub-blocks of 32 values, decoded from one
// set of loads), so a warp reads 32 neighbouring chunks of each of its rows per step, and all
// its columns' loads of a step are independent. Per step, a lane decodes its chunk of each
// column once, then loads each member entry's q8_1 blocks once (one member at a time, so only
// one entry's activations are live) and accumulates into acc[column][entry] in registers. A
// xor-shuffle tree reduces each accumulator; lane 0 scales and stores. Columns past size_n load
// row size_n - 1 and are not stored. Entries of a window are grouped by expert (not only
// consecutive ones), so expert_ids need not be sorted.
//
// Shared memory: none when kBlockK == 0; else dynamic, kWarps * kStages * kCols * segment bytes
// (one ring per warp). Barriers: none, only __syncwarp (warps are independent), so no early
// return can skip one.
//
// Preconditions (checked by the host): size_k % Fmt::kBlockElems == 0; top_k >= 1 when
// topk_weights is null; act_q8 holds input_rows * size_k / 32 q8_1 blocks, 8-byte aligned (the
// k-quants load each chunk's two adjacent q8_1 blocks with 64-bit loads);
// weights, weight_expert_stride and weight_row_stride multiples of Fmt::kWeightAlign
// (16 for q4_K/q5_K, 4 for q4_1/q5_1/q2_K, 2 otherwise); num_pairs * size_n output floats.
template <class Fmt, int kBlockM, int kBlockN, int kWarps, int kConstN = 0, int kConstK = 0,
          int kBlockK = 0, int kStages = 1>
__global__ void __launch_bounds__(kWarps * 32) scalar_gguf_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  static_assert(kBlockM >= 1 && kBlockM <= 8, "kBlockM must be in [1, 8]");
  static_assert(kBlockK >= 0 && kBlockK % Fmt::kBlockElems == 0,
                "kBlockK must be a multiple of the block size");
  static_assert(kBlockK / Fmt::kBlockElems * Fmt::kBlockBytes % 16 == 0,
                "a K segment must be whole 16-byte words");
  static_assert(kStages >= 1 && kStages <= 8, "kStages must be in [1, 8]");
  static_assert(kWarps >= 1 && kWarps <= 32, "kWarps must be in [1, 32]");
  static_assert(kBlockN % kWarps == 0, "kBlockN must be a multiple of kWarps");
  static_assert(kConstK % Fmt::kBlockElems == 0, "kConstK must be a multiple of the block size");
  constexpr int kCols = kBlockN / kWarps;
  constexpr int kSubs = Fmt::kChunkSubs;
  using Sub = typename Fmt::Sub;
  using Block = typename Fmt::Block;

  const int size_n = kConstN != 0 ? kConstN : p.size_n;
  const int size_k = kConstK != 0 ? kConstK : p.size_k;
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const int warp = static_cast<int>(threadIdx.x >> 5);
  const int blocks_per_row = size_k / Fmt::kBlockElems;
  const int chunks_per_row = blocks_per_row * Fmt::kChunksPerBlock;
  const long long q8_per_row = size_k / 32;
  const int n_tiles = (size_n + kBlockN - 1) / kBlockN;
  const long long windows = (static_cast<long long>(p.size_m) + kBlockM - 1) / kBlockM;
  const unsigned char* wbase = static_cast<const unsigned char*>(p.weights);
  const gguf::BlockQ8_1* act = static_cast<const gguf::BlockQ8_1*>(p.act_q8);
  float* out = static_cast<float*>(p.output);

  constexpr int kSegBlocks = kBlockK / Fmt::kBlockElems;
  constexpr int kSegBytes = kSegBlocks * Fmt::kBlockBytes;
  constexpr int kSlotBytes = kCols * kSegBytes;
  // act_q8 comes from quantize_q8_1_kernel: the first chunk's weight loads are issued before
  // waiting for it (grid_dependency.cuh), so their latency overlaps the quantizer's tail.
  bool act_ready = false;
  for (long long win = blockIdx.x; win < windows; win += gridDim.x) {
    // The window's entries (the same values in every thread of the CTA).
    int in_row[kBlockM], expert[kBlockM];
    unsigned valid = 0;
#pragma unroll
    for (int m = 0; m < kBlockM; ++m) {
      in_row[m] = 0;
      expert[m] = -1;
      if (routed_entry(p, win * kBlockM + m, in_row[m], expert[m])) valid |= 1u << m;
    }

    for (int tile = blockIdx.y; tile < n_tiles; tile += gridDim.y) {
      const int col0 = tile * kBlockN + warp * kCols;
      unsigned pending = valid;
      while (pending != 0) {
        // The next group: every pending entry of the window with the first pending expert.
        const int first = __ffs(static_cast<int>(pending)) - 1;
        int e = 0;
#pragma unroll
        for (int m = 0; m < kBlockM; ++m)
          if (m == first) e = expert[m];
        unsigned members = 0;
#pragma unroll
        for (int m = 0; m < kBlockM; ++m)
          if (((pending >> m) & 1u) != 0 && expert[m] == e) members |= 1u << m;
        pending &= ~members;

        const unsigned char* wrow[kCols];
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const int n = min(col0 + c, size_n - 1);
          wrow[c] = wbase + static_cast<long long>(e) * p.weight_expert_stride +
                    static_cast<long long>(n) * p.weight_row_stride;
        }
        float acc[kCols][kBlockM];
#pragma unroll
        for (int c = 0; c < kCols; ++c)
#pragma unroll
          for (int m = 0; m < kBlockM; ++m) acc[c][m] = 0.0f;

        bool staged_done = false;
        if constexpr (kBlockK > 0) {
          // The staged path's copies need 16-byte aligned rows (the same in every thread).
          const int row_bytes = blocks_per_row * Fmt::kBlockBytes;
          const bool staged = ((reinterpret_cast<unsigned long long>(wbase) |
                                static_cast<unsigned long long>(p.weight_expert_stride) |
                                static_cast<unsigned long long>(p.weight_row_stride) |
                                static_cast<unsigned>(row_bytes)) &
                               15u) == 0;
          if (staged) {
            extern __shared__ __align__(16) unsigned char moejit_scalar_smem[];
            unsigned char* ring = moejit_scalar_smem + warp * (kStages * kSlotBytes);
            // Staged: segment s of every row goes to slot s % kStages of the warp's ring.
            const int segments = (blocks_per_row + kSegBlocks - 1) / kSegBlocks;
            const auto seg_bytes = [&](int s) { return min(kSegBytes, row_bytes - s * kSegBytes); };
#pragma unroll
            for (int s = 0; s + 1 < kStages; ++s) {
              if (s < segments)
                scalar_gguf_detail::copy_segment<kCols, kSegBytes>(ring + s * kSlotBytes, wrow, s,
                                                                   seg_bytes(s), lane);
              tc::cp_async_commit();
            }
#pragma unroll 1
            for (int s = 0; s < segments; ++s) {
              const int ahead = s + kStages - 1;
              if (ahead < segments)
                scalar_gguf_detail::copy_segment<kCols, kSegBytes>(
                    ring + (ahead % kStages) * kSlotBytes, wrow, ahead, seg_bytes(ahead), lane);
              tc::cp_async_commit();
              tc::cp_async_wait<kStages - 1>();  // segment s has landed (this lane's copies)
              __syncwarp();                      // ... and every lane's
              if (!act_ready) {
                grid_dependency_wait();
                act_ready = true;
              }
              const unsigned char* slot = ring + (s % kStages) * kSlotBytes;
              const int chunks = seg_bytes(s) / Fmt::kBlockBytes * Fmt::kChunksPerBlock;
#pragma unroll 1
              for (int q = lane; q < chunks; q += 32) {
                const int blk = q / Fmt::kChunksPerBlock;
                const int chunk = q % Fmt::kChunksPerBlock;
                Sub w[kCols][kSubs];
#pragma unroll
                for (int c = 0; c < kCols; ++c)
                  Fmt::template load_chunk<true>(
                      reinterpret_cast<const Block*>(slot + c * kSegBytes + blk * Fmt::kBlockBytes),
                      chunk, w[c]);
                scalar_gguf_detail::dot_members<Fmt, kBlockM, kCols>(
                    w, s * kSegBlocks + blk, chunk, members, in_row, act, q8_per_row, acc);
              }
              __syncwarp();  // every lane is done with the slot before it is refilled
            }
            staged_done = true;
          }
        }
        if (!staged_done) {
#pragma unroll 1
          for (int q = lane; q < chunks_per_row; q += 32) {
            const int blk = q / Fmt::kChunksPerBlock;
            const int chunk = q % Fmt::kChunksPerBlock;
            Sub w[kCols][kSubs];
#pragma unroll
            for (int c = 0; c < kCols; ++c)
              Fmt::load_chunk(reinterpret_cast<const Block*>(wrow[c] + static_cast<long long>(blk) *
                                                                           Fmt::kBlockBytes),
                              chunk, w[c]);
            if (!act_ready) {
              grid_dependency_wait();
              act_ready = true;
            }
            scalar_gguf_detail::dot_members<Fmt, kBlockM, kCols>(w, blk, chunk, members, in_row,
                                                                 act, q8_per_row, acc);
          }
        }

#pragma unroll
        for (int m = 0; m < kBlockM; ++m) {
          if (((members >> m) & 1u) == 0) continue;
          // The pair id is read again rather than kept live through the K loop.
          const int pair = p.sorted_ids[win * kBlockM + m];
          const float s = p.topk_weights != nullptr ? p.topk_weights[pair] : 1.0f;
          float* orow = out + static_cast<long long>(pair) * size_n;
#pragma unroll
          for (int c = 0; c < kCols; ++c) {
            const int n = col0 + c;
            if (n >= size_n) continue;  // warp-uniform
            const float total = scalar_gguf_detail::warp_sum(acc[c][m]);
            if (lane == 0) orow[n] = s * total;
          }
        }
      }
    }
  }
}

}  // namespace moejit
