// Wmma variant, decode tiles (stages 1): dense f16/bf16 expert GEMM for a few entries per expert,
// out[p, n] = T(s * sum_k A[in_row, k] * W[e, n, k]), on tensor cores with no shared-memory
// staging. Weight rows are the MMA's A operand (16 rows n per MMA), the m-tile's entries its B
// operand (8 per MMA), so a decode step spends its instructions on 16-byte weight loads and MMAs.
//
// Kernel: moejit::wmma_decode_kernel<T, BM, BN, BK, kWarps, kConstN = 0, kConstK = 0>
//   T        __half or __nv_bfloat16 (activations, weights and output)
//   BM       entries per m-tile (8 or 16: BM / 8 MMAs of 8 columns)
//   BN       weight rows (output columns) per CTA, a multiple of 16: BN / 16 row groups
//   BK       K elements a warp loads per block (a multiple of 32; two blocks of operands, the
//            current and the next, take 2 * BK / 32 * (2 + BM / 8) * 4 <= 96 registers)
//   kWarps   warps per CTA, a multiple of BN / 16: each row group is split over
//            kSlices = kWarps * 16 / BN warps that take interleaved K blocks
//   kConstN, kConstK  N and K compiled in (0: taken from MoeParams)
// Grid: as wmma_kernel (tc::tile_slot_count(size_m, E, BM) m-tile slots on x, the ceil(N / BN)
// n-tiles on y, continued into z). Block: kWarps * 32 threads. Dynamic shared memory:
// WmmaDecodeTraits::kSmemBytes (the K slices' partial sums). expert_offsets_kernel must have
// filled p.expert_offsets first.
//
// Thread roles. Lane l of a warp is (g = l / 4, c = l % 4). Warp w is slice w % kSlices of row
// group w / kSlices, rows n0 + 16 * group + g and + 8. Block b of K (elements b * BK .. + BK)
// belongs to slice b % kSlices; in it, for each 32-element step, the lane loads elements
// k = 32 * step + 8 * c .. + 8 of its two weight rows and of the activation row of entry
// 8 * j + g of each of the BM / 8 column groups j (16 bytes each, zero past K or for padding
// entries). The MMA's K order is a permutation of the real one, the same for both operands: the
// lane's 8 elements are the A fragment registers a0a1, a4a5 (row g), a2a3, a6a7 (row g + 8) of
// two m16n8k16 steps, and the B fragment registers b0b1, b2b3 of the same steps. Loads of the next
// block are issued before the current block's MMAs; the weight loads ask L2 for the 256-byte
// segment around them and skip L1 (vecdot::ld_u128_once). Slices other than 0 then hand their
// accumulators to slice 0 through shared memory (one barrier); slice 0 adds them, scales by the
// top-k weight in f32 and stores, rounded once to T.
// Early loads: with the entry mapping of tc::map_m_tile (slot i works on the tile starting at
// entry i, whose expert is expert_ids[i]), the first weight block is loaded before waiting for
// expert_offsets_kernel, since the weights' address needs only the expert id.
// Preconditions (checked by the planner): K % 8 == 0; activations, weights and output 16-byte
// aligned; weight_expert_stride and weight_row_stride multiples of 16 bytes; expert_ids sorted
// ascending (entries outside [0, E), and pair ids outside [0, num_pairs), are skipped).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "formats/vec_dot_common.cuh"
#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "tc/epilogue.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_loader.cuh"
#include "tc/tile_map.cuh"

namespace moejit {

template <class T, int BM, int BN, int BK, int kWarps>
struct WmmaDecodeTraits {
  static constexpr int kNT = BM / 8;       // MMA column groups (8 entries each)
  static constexpr int kGroups = BN / 16;  // row groups (16 weight rows each)
  static constexpr int kSlices = kGroups > 0 ? kWarps / kGroups : 1;
  static constexpr int kSteps = BK / 32;  // 32-element steps per block
  static constexpr int kAccumulators = 4 * kNT;
  // Registers per lane of the two blocks in flight (the current one and the next).
  static constexpr int kBlockRegisters = 2 * kSteps * (2 + kNT) * 4;
  static constexpr int kSmemBytes = (kWarps - kGroups) * 32 * kAccumulators * 4;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert(BM == 8 || BM == 16, "BM is 8 or 16");
  static_assert(BN % 16 == 0 && BN > 0, "BN is a positive multiple of 16");
  static_assert(BK % 32 == 0 && BK > 0, "BK is a positive multiple of 32");
  static_assert(kBlockRegisters <= 96, "two blocks of operands must fit in 96 registers");
  static_assert(kWarps >= 1 && kWarps <= 32, "1 to 32 warps");
  static_assert(kWarps % kGroups == 0, "the warps split evenly over the row groups");
};

namespace decode_detail {

// One block's operands of one lane: 16 bytes per step of each weight row and activation row.
template <int kSteps, int kNT>
struct Block {
  uint4 w[kSteps][2];
  uint4 x[kSteps][kNT];
};

}  // namespace decode_detail

template <class T, int BM, int BN, int BK, int kWarps, int kConstN = 0, int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) wmma_decode_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WmmaDecodeTraits<T, BM, BN, BK, kWarps>;
  constexpr int kNT = Tr::kNT;
  constexpr int kSteps = Tr::kSteps;
  constexpr int kSlices = Tr::kSlices;
  using Block = decode_detail::Block<kSteps, kNT>;
  const int size_n = kConstN > 0 ? kConstN : p.size_n;
  const int size_k = kConstK > 0 ? kConstK : p.size_k;

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int g = lane >> 2;
  const int c = lane & 3;
  const int slice = warp % kSlices;
  const int group = warp / kSlices;
  const long long n_tile = tc::n_tile_index();
  const bool n_tile_live = n_tile * BN < size_n;
  const int n0 = static_cast<int>(n_tile) * BN + group * 16;
  const int blocks = (size_k + BK - 1) / BK;

  // This lane's two weight rows (rows past N repeat row N - 1; they are never stored).
  const unsigned char* wrow[2];
  const auto set_weight_rows = [&](int expert) {
    const unsigned char* expert_w = tc::expert_weights(p, expert);
#pragma unroll
    for (int h = 0; h < 2; ++h)
      wrow[h] =
          expert_w + static_cast<long long>(min(n0 + g + 8 * h, size_n - 1)) * p.weight_row_stride;
  };
  const auto load_weights = [&](Block& b, int blk) {
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const int k = blk * BK + 32 * s + 8 * c;
#pragma unroll
      for (int h = 0; h < 2; ++h)
        b.w[s][h] = k < size_k ? vecdot::ld_u128_once(wrow[h] + 2 * static_cast<long long>(k))
                               : make_uint4(0u, 0u, 0u, 0u);
    }
  };

  Block cur;
  bool early = false;
  const long long slot = blockIdx.x;
  if (n_tile_live && slice < blocks && tc::entry_mapping(p.size_m, p.num_experts, BM) &&
      slot < p.size_m) {
    const int e = p.expert_ids[slot];
    if (e >= 0 && e < p.num_experts) {
      set_weight_rows(e);
      load_weights(cur, slice);
      early = true;
    }
  }

  grid_dependency_wait();  // the offsets come from expert_offsets_kernel
  const tc::MTile tile = tc::map_m_tile<BM, 8>(p, slot);
  // Whole-CTA exits, before the barrier.
  if (tile.expert < 0 || !n_tile_live) return;
  if (!early) {
    set_weight_rows(tile.expert);
    if (slice < blocks) load_weights(cur, slice);
  }

  // The activation rows of this lane's entries (null: padding, loads as zeros).
  const T* xrow[kNT];
#pragma unroll
  for (int j = 0; j < kNT; ++j)
    xrow[j] = tc::activation_row<T>(p, tile.begin + 8 * j + g, tile.end, size_k);
  const auto load_activations = [&](Block& b, int blk) {
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const int k = blk * BK + 32 * s + 8 * c;
#pragma unroll
      for (int j = 0; j < kNT; ++j)
        b.x[s][j] = (k < size_k && xrow[j] != nullptr)
                        ? vecdot::ld_u128(reinterpret_cast<const unsigned char*>(xrow[j] + k))
                        : make_uint4(0u, 0u, 0u, 0u);
    }
  };
  if (slice < blocks) load_activations(cur, slice);

  float acc[kNT][4];
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int q = 0; q < 4; ++q) acc[j][q] = 0.0f;

#pragma unroll 1
  for (int blk = slice; blk < blocks; blk += kSlices) {
    Block next;
    const bool more = blk + kSlices < blocks;
    if (more) {
      load_weights(next, blk + kSlices);
      load_activations(next, blk + kSlices);
    }
#pragma unroll
    for (int s = 0; s < kSteps; ++s)
#pragma unroll
      for (int j = 0; j < kNT; ++j) {
        const uint4& w0 = cur.w[s][0];
        const uint4& w1 = cur.w[s][1];
        const uint4& x = cur.x[s][j];
        const unsigned a_lo[4] = {w0.x, w1.x, w0.y, w1.y};
        const unsigned b_lo[2] = {x.x, x.y};
        tc::Mma16816<T>::run(acc[j], a_lo, b_lo);
        const unsigned a_hi[4] = {w0.z, w1.z, w0.w, w1.w};
        const unsigned b_hi[2] = {x.z, x.w};
        tc::Mma16816<T>::run(acc[j], a_hi, b_hi);
      }
    if (more) cur = next;
  }

  if constexpr (kSlices > 1) {
    // part[((group * (kSlices - 1) + slice - 1) * kAccumulators + 4 * j + q) * 32 + lane].
    extern __shared__ float moejit_decode_part[];
    float* part = moejit_decode_part + group * (kSlices - 1) * Tr::kAccumulators * 32;
    if (slice != 0) {
      float* mine = part + (slice - 1) * Tr::kAccumulators * 32;
#pragma unroll
      for (int j = 0; j < kNT; ++j)
#pragma unroll
        for (int q = 0; q < 4; ++q) mine[(4 * j + q) * 32 + lane] = acc[j][q];
    }
    __syncthreads();
    if (slice != 0) return;
#pragma unroll
    for (int t = 1; t < kSlices; ++t) {
      const float* theirs = part + (t - 1) * Tr::kAccumulators * 32;
#pragma unroll
      for (int j = 0; j < kNT; ++j)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[j][q] += theirs[(4 * j + q) * 32 + lane];
    }
  }

  // acc[j][q]: row n0 + g + 8 * (q / 2), entry tile.begin + 8 * j + 2 * c + q % 2.
  T* out = static_cast<T*>(p.output);
#pragma unroll
  for (int j = 0; j < kNT; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int entry = tile.begin + 8 * j + 2 * c + e;
      if (entry >= tile.end) continue;
      const int pair_id = p.sorted_ids[entry];
      if (pair_id < 0 || pair_id >= p.num_pairs) continue;
      const float s = p.topk_weights != nullptr ? p.topk_weights[pair_id] : 1.0f;
      T* row = out + static_cast<long long>(pair_id) * size_n;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int n = n0 + g + 8 * h;
        if (n < size_n) tc::OutputStore<T>::one(row + n, __fmul_rn(s, acc[j][2 * h + e]));
      }
    }
}

}  // namespace moejit
