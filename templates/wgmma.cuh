// Wmma variant on Hopper (sm_90a): the dense f16/bf16 expert GEMM on warpgroup MMAs
// (wgmma.mma_async m64nNk16, f32 accumulation), operands read by the tensor cores straight from
// shared memory. Same contract and results as wmma_kernel (wmma.cuh):
// out[p, n] = T(s * sum_k A[in_row, k] * W[e, n, k]) over the segments of sorted expert ids.
//
// Kernel: moejit::wgmma_kernel<T, BM, BN, kWarps, kStages, kConstN = 0, kConstK = 0>
//   T        __half or __nv_bfloat16
//   BM x BN  CTA tile; the K step is 64 (one 128-byte swizzle atom row)
//   kWarps   a multiple of 4: kWarps / 4 warpgroups, laid out as (BM / 64) x kGroupsN, each
//            computing 64 rows x kGroupN = BN / kGroupsN columns (64, 128 or 256)
//   kStages  >= 3 shared-memory ring stages (cp.async)
// Grid, block, launch order and preconditions: as wmma_kernel, except that m-tile heights are
// rounded to 64 rows (tc::map_m_tile<BM, 64>). Dynamic shared memory: WgmmaTraits::kSmemBytes
// (1024 bytes of it are slack to align the ring to the swizzle atoms).
//
// Thread roles: every thread issues cp.async copies of the tile's gathered activation rows and of
// weight rows n0..n0+BN into the swizzled layout, with 256-byte L2 prefetch; each warpgroup
// then issues four m64nNk16 wgmmas per K step on its 64-row slice of A and its column slice of B,
// and finally stores its accumulators (tc::store_warp_tile, one 16-row block per warp).
// Pipeline: step kt waits for its copies, fences them to the async proxy, synchronises, refills
// the slot of step kt - 2 with step kt + kStages - 2, issues its wgmmas and waits for those of
// step kt - 1 (one batch stays in flight). The barrier of step kt + 1 therefore follows every
// warpgroup's completion of step kt - 1, whose slot step kt + 1 refills.
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
#include "tc/wgmma_ptx.cuh"

namespace moejit {

template <class T, int BM, int BN, int kWarps, int kStages>
struct WgmmaTraits {
  static constexpr int kBK = 64;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kGroups = kWarps / 4;
  static constexpr int kGroupsM = BM / 64;
  static constexpr int kGroupsN = kGroupsM > 0 ? kGroups / kGroupsM : 1;
  static constexpr int kGroupN = kGroupsN > 0 ? BN / kGroupsN : BN;
  static constexpr int kNT = kGroupN / 8;   // n8 blocks of a warp's accumulators
  static constexpr int kStageA = BM * kBK;  // elements
  static constexpr int kStageB = BN * kBK;
  static constexpr int kAlignSlack = 1024;
  static constexpr int kSmemBytes = kStages * (kStageA + kStageB) * 2 + kAlignSlack;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert(BM % 64 == 0 && BM > 0, "BM is a multiple of 64 (the wgmma height)");
  static_assert(kWarps % 4 == 0 && kWarps >= 4 && kWarps <= 16, "1 to 4 warpgroups");
  static_assert(kGroups % kGroupsM == 0, "the warpgroups split BM into 64-row slices");
  static_assert(BN % kGroupsN == 0 && (kGroupN == 64 || kGroupN == 128 || kGroupN == 256),
                "each warpgroup computes 64, 128 or 256 columns");
  static_assert(kStages >= 3, "one wgmma batch stays in flight: at least 3 ring stages");
};

template <class T, int BM, int BN, int kWarps, int kStages, int kConstN = 0, int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) wgmma_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WgmmaTraits<T, BM, BN, kWarps, kStages>;
  constexpr int BK = Tr::kBK;
  const int size_n = kConstN > 0 ? kConstN : p.size_n;
  const int size_k = kConstK > 0 ? kConstK : p.size_k;

  grid_dependency_wait();  // the offsets come from expert_offsets_kernel
  const tc::MTile tile = tc::map_m_tile<BM, 64>(p, blockIdx.x);
  const long long n_tile = tc::n_tile_index();
  // Whole-CTA exits, before any barrier.
  if (tile.expert < 0 || n_tile * BN >= size_n) return;
  const int n0 = static_cast<int>(n_tile) * BN;

  extern __shared__ __align__(1024) unsigned char moejit_wgmma_smem[];
  T* smem_a = reinterpret_cast<T*>(tc::align_shared<Tr::kAlignSlack>(moejit_wgmma_smem));
  T* smem_b = smem_a + kStages * Tr::kStageA;

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int group = tc::warpgroup_index();
  const int group_m = group / Tr::kGroupsN;
  const int group_n = group % Tr::kGroupsN;
  // Descriptors of the warpgroup's first rows in ring slot 0; a step adds its slot's offset.
  const unsigned long long desc_a0 = tc::smem_desc_sw128(smem_a + group_m * 64 * 64);
  const unsigned long long desc_b0 = tc::smem_desc_sw128(smem_b + group_n * Tr::kGroupN * 64);

  const unsigned char* expert_w = tc::expert_weights(p, tile.expert);

  tc::RowTileLoader<T, BM, BK, BK, Tr::kThreads, true, true> a_loader;
  a_loader.init(
      tid, [&](int r) { return tc::activation_row<T>(p, tile.begin + r, tile.end, size_k); },
      p.activations);
  tc::RowTileLoader<T, BN, BK, BK, Tr::kThreads, true, true> b_loader;
  b_loader.init(
      tid, [&](int r) { return tc::weight_row<T>(p, expert_w, n0 + r, size_n); }, p.weights);

  const int k_steps = (size_k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 2; ++s) {
    if (s < k_steps) {
      a_loader.load(smem_a + s * Tr::kStageA, s * BK, size_k, tid);
      b_loader.load(smem_b + s * Tr::kStageB, s * BK, size_k, tid);
    }
    tc::cp_async_commit();
  }

  tc::WarpAccumulators<1, Tr::kNT> acc;
  acc.zero();
  float(&d)[Tr::kGroupN / 2] = reinterpret_cast<float(&)[Tr::kGroupN / 2]>(acc.v[0]);
  // A warpgroup whose 64 rows are all padding skips its MMAs (uniform within the warpgroup).
  const bool live = group_m * 64 < tile.end - tile.begin;

  for (int kt = 0; kt < k_steps; ++kt) {
    tc::cp_async_wait<kStages - 3>();
    tc::fence_proxy_async_shared();
    __syncthreads();
    const int next = kt + kStages - 2;
    if (next < k_steps) {
      const int slot = next % kStages;
      a_loader.load(smem_a + slot * Tr::kStageA, next * BK, size_k, tid);
      b_loader.load(smem_b + slot * Tr::kStageB, next * BK, size_k, tid);
    }
    tc::cp_async_commit();
    if (live) {
      const int slot = kt % kStages;
      tc::wgmma_fence_operands(d);
      tc::wgmma_fence();
      tc::warpgroup_k_step<T, Tr::kGroupN, BK, BM, BN>(
          d, desc_a0 + tc::smem_desc_units(slot * Tr::kStageA * 2),
          desc_b0 + tc::smem_desc_units(slot * Tr::kStageB * 2));
      tc::wgmma_commit();
      tc::wgmma_fence_operands(d);
      tc::wgmma_wait<1>();
      tc::wgmma_fence_operands(d);
    }
  }
  tc::wgmma_wait<0>();
  tc::wgmma_fence_operands(d);

  const int warp_in_group = (tid >> 5) & 3;
  tc::store_warp_tile<T>(p, acc, tile.begin, tile.end, group_m * 64 + warp_in_group * 16,
                         n0 + group_n * Tr::kGroupN, size_n, lane);
}

}  // namespace moejit
