// Wmma variant: dense f16/bf16 expert GEMM on tensor cores (mma.sync m16n8k16, f32 accumulation),
// out[p, n] = T(s * sum_k A[in_row, k] * W[e, n, k]) over the segments of sorted expert ids.
//
// Kernel: moejit::wmma_kernel<T, BM, BN, BK, kWarps, kStages, kConstN = 0, kConstK = 0>
//   T        __half or __nv_bfloat16 (activations, weights and output)
//   BM x BN  CTA tile: BM entries of one expert's segment x BN output columns
//   BK       K step (a multiple of 16), kStages >= 2 shared-memory ring stages (cp.async)
//   kWarps   warps per CTA, laid out as WmmaTraits::kWarpsM x kWarpsN (tc::warp_rows)
//   kConstN, kConstK  N and K compiled in (0: taken from MoeParams)
// Grid: x = tc::tile_slot_count(size_m, E, BM) slots, each one m-tile of one expert (see
// tc::map_m_tile; slots without a tile exit at once); y (continued into z past 65535) = the
// ceil(N / BN) n-tiles. Block: kWarps * 32 threads. Dynamic shared memory: WmmaTraits::kSmemBytes.
// expert_offsets_kernel must have filled p.expert_offsets first.
//
// Thread roles: every thread issues cp.async copies (A: the tile's gathered activation rows,
// B: weight rows n0..n0+BN of the expert), then each warp computes its kWarpTileM x kWarpTileN
// sub-tile with ldmatrix + mma.sync, then stores it (epilogue, no shared memory).
// Shared memory: kStages x A stage [BM][BK + 8] T, then kStages x B stage [BN][BK + 8] T; the
// 8-element pad per row keeps ldmatrix and the 16-byte copies free of bank conflicts.
// Pipeline: prologue copies K steps 0..kStages-2; step kt waits for its group, synchronises
// (making step kt visible and releasing the slot read at step kt - 1), refills that slot with step
// kt + kStages - 1, then computes from slot kt % kStages.
// Preconditions (checked by the planner): K % 8 == 0; activations, weights and output 16-byte
// aligned; weight_expert_stride and weight_row_stride multiples of 16 bytes; expert_ids sorted
// ascending (entries outside [0, E), and pair ids outside [0, num_pairs), are skipped).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "tc/epilogue.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_loader.cuh"
#include "tc/tile_map.cuh"
#include "tc/warp_mma.cuh"

namespace moejit {

template <class T, int BM, int BN, int BK, int kWarps, int kStages>
struct WmmaTraits {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kLd = BK + 8;  // elements per shared row
  static constexpr int kWarpsM = tc::warp_rows(BM, BN, kWarps);
  static constexpr int kWarpsN = kWarpsM > 0 ? kWarps / kWarpsM : 1;
  static constexpr int kWarpTileM = kWarpsM > 0 ? BM / kWarpsM : 16;
  static constexpr int kWarpTileN = BN / kWarpsN;
  static constexpr int kMT = kWarpTileM / 16;  // m16 blocks per warp
  static constexpr int kNT = kWarpTileN / 8;   // n8 blocks per warp
  static constexpr int kStageA = BM * kLd;     // elements
  static constexpr int kStageB = BN * kLd;
  static constexpr int kSmemBytes = kStages * (kStageA + kStageB) * 2;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert(BM % 16 == 0 && BN % 16 == 0, "BM and BN are multiples of 16");
  static_assert(BK % 16 == 0 && BK > 0, "BK is a multiple of 16");
  static_assert(kWarps >= 1 && kWarps <= 32, "1 to 32 warps");
  static_assert(kStages >= 2, "the cp.async ring needs at least 2 stages");
  static_assert(kWarpsM > 0, "no warp layout: BM/16 and BN/16 must split over the warps");
  static_assert(kMT * kNT * 4 <= 128, "warp tile too large (accumulators exceed 128 registers)");
};

template <class T, int BM, int BN, int BK, int kWarps, int kStages, int kConstN = 0,
          int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) wmma_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WmmaTraits<T, BM, BN, BK, kWarps, kStages>;
  const int size_n = kConstN > 0 ? kConstN : p.size_n;
  const int size_k = kConstK > 0 ? kConstK : p.size_k;

  grid_dependency_wait();  // the offsets come from expert_offsets_kernel
  const tc::MTile tile = tc::map_m_tile<BM>(p, blockIdx.x);
  const long long n_tile = tc::n_tile_index();
  // Whole-CTA exits, before any barrier.
  if (tile.expert < 0 || n_tile * BN >= size_n) return;
  const int n0 = static_cast<int>(n_tile) * BN;

  extern __shared__ __align__(16) unsigned char moejit_smem[];
  T* smem_a = reinterpret_cast<T*>(moejit_smem);
  T* smem_b = smem_a + kStages * Tr::kStageA;

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int warp_m = warp / Tr::kWarpsN;
  const int warp_n = warp % Tr::kWarpsN;

  const unsigned char* expert_w = tc::expert_weights(p, tile.expert);

  tc::RowTileLoader<T, BM, BK, Tr::kLd, Tr::kThreads> a_loader;
  a_loader.init(
      tid, [&](int r) { return tc::activation_row<T>(p, tile.begin + r, tile.end, size_k); },
      p.activations);
  tc::RowTileLoader<T, BN, BK, Tr::kLd, Tr::kThreads> b_loader;
  b_loader.init(
      tid, [&](int r) { return tc::weight_row<T>(p, expert_w, n0 + r, size_n); }, p.weights);

  const int k_steps = (size_k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_steps) {
      a_loader.load(smem_a + s * Tr::kStageA, s * BK, size_k, tid);
      b_loader.load(smem_b + s * Tr::kStageB, s * BK, size_k, tid);
    }
    tc::cp_async_commit();
  }

  tc::WarpAccumulators<Tr::kMT, Tr::kNT> acc;
  acc.zero();
  const int live_rows = (tile.end - tile.begin) - warp_m * Tr::kWarpTileM;
  const T* warp_a = smem_a + warp_m * Tr::kWarpTileM * Tr::kLd;
  const T* warp_b = smem_b + warp_n * Tr::kWarpTileN * Tr::kLd;

  for (int kt = 0; kt < k_steps; ++kt) {
    tc::cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < k_steps) {
      const int slot = next % kStages;
      a_loader.load(smem_a + slot * Tr::kStageA, next * BK, size_k, tid);
      b_loader.load(smem_b + slot * Tr::kStageB, next * BK, size_k, tid);
    }
    tc::cp_async_commit();
    const int slot = kt % kStages;
    tc::warp_mma_k_step<T, Tr::kMT, Tr::kNT, BK, Tr::kLd>(
        acc, warp_a + slot * Tr::kStageA, warp_b + slot * Tr::kStageB, lane, live_rows);
  }

  tc::store_warp_tile<T>(p, acc, tile.begin, tile.end, warp_m * Tr::kWarpTileM,
                         n0 + warp_n * Tr::kWarpTileN, size_n, lane);
}

}  // namespace moejit
