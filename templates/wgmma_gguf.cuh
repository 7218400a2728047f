// WmmaGguf variant on Hopper (sm_90a): GGUF weights dequantized (exactly, in f32, then rounded to
// T) into a 128-byte-swizzled shared tile that warpgroup MMAs (wgmma.mma_async m64nNk16, f32
// accumulation) read directly, f32 output. Same contract and results as wmma_gguf_kernel:
// out[p, n] = s * sum_k A[in_row, k] * T(dequant(W[e, n, k])).
//
// Kernel: moejit::wgmma_gguf_kernel<Fmt, T, BM, BN, BK, kWarps, kStages, kConstN = 0,
//                                   kConstK = 0>
//   Fmt, T   as wmma_gguf_kernel (wmma_gguf.cuh)
//   BM x BN  CTA tile, laid out over kWarps / 4 warpgroups as wgmma_kernel's (wgmma.cuh)
//   BK       64, 128 or 256, dividing or a multiple of the block size (whole 64-element panels)
//   kStages  >= 3 ring stages of activation rows (raw weight blocks: tc/gguf_steps.cuh)
// Grid, block, launch order and preconditions: as wmma_gguf_kernel, except that m-tile heights
// are rounded to 64 rows (tc::map_m_tile<BM, 64>). Dynamic shared memory:
// WgmmaGgufTraits::kSmemBytes (1024 bytes of it are slack to align the swizzled tiles).
//
// Thread roles per K step kt: all threads issue the cp.async copies of step kt + kStages - 1
// (activation rows into the swizzled A ring, raw block bytes as wmma_gguf_kernel stages them);
// each warpgroup issues its wgmmas of step kt on A slot kt % kStages and B tile kt % 2; while
// they run, all threads dequantize the staged blocks of step kt + 1 into B tile (kt + 1) % 2
// (tasks of Fmt::kTaskGroups 8-element groups, Fmt::kStoreBatch tasks dequantized before their
// stores, tc::GgufWeightSteps, stored at swizzled positions);
// then each warpgroup waits for its wgmmas. One barrier per step, after the wait for step
// kt + 1's copies and a proxy fence of the dequantized tile: it publishes both, and every
// warpgroup's wgmmas of step kt - 1 are complete by then, so ring slot (kt - 1) % kStages and
// B tile (kt + 1) % 2 are free. With WgmmaGgufTraits::kBulk (tiles whose raw staging would take
// 8 or more 16-byte copies per thread) the raw blocks come by bulk copies instead, one per row,
// issued by the first min(BN, threads) threads; each thread waits on the slot's mbarrier just
// before it dequantizes a step, so the cp.async wait covers only the activation rows (step kt).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "tc/epilogue.cuh"
#include "tc/gguf_steps.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_loader.cuh"
#include "tc/tile_map.cuh"
#include "tc/warp_mma.cuh"
#include "tc/wgmma_ptx.cuh"

namespace moejit {

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages>
struct WgmmaGgufTraits {
  static constexpr int kThreads = kWarps * 32;
  // Raw blocks by bulk copies (one per row and staged step) where the 16-byte copies would be
  // many per thread: at 8 or more, the bulk copy engine is faster; at fewer, its time per copy
  // costs more than the copies' instructions (docs/benchmarks.md).
  static constexpr bool kBulk = tc::GgufRawSteps<Fmt, BN, BK, kThreads, kStages>::kChunkCopies >= 8;
  using Steps = tc::GgufWeightSteps<Fmt, BN, BK, kThreads, kStages, kBulk, Fmt::kTaskGroups,
                                    Fmt::kStoreBatch>;
  static constexpr int kQk = Steps::kQk;
  static constexpr int kGroups = kWarps / 4;
  static constexpr int kGroupsM = BM / 64;
  static constexpr int kGroupsN = kGroupsM > 0 ? kGroups / kGroupsM : 1;
  static constexpr int kGroupN = kGroupsN > 0 ? BN / kGroupsN : BN;
  static constexpr int kNT = kGroupN / 8;
  static constexpr int kStageA = BM * BK;                     // elements
  static constexpr int kTileB = BN * BK;                      // elements
  static constexpr int kRingRaw = Steps::kRingBytes;          // bytes
  static constexpr int kBarrierBytes = 8 * Steps::kRawSlots;  // kBulk's mbarriers (always kept)
  static constexpr int kAlignSlack = 1024;
  // A ring and both B tiles first (multiples of 1024 bytes), then the raw ring and the mbarriers.
  static constexpr int kSmemBytes =
      kStages * kStageA * 2 + 2 * kTileB * 2 + kRingRaw + kBarrierBytes + kAlignSlack;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert(BM % 64 == 0 && BM > 0, "BM is a multiple of 64 (the wgmma height)");
  static_assert(BK == 64 || BK == 128 || BK == 256, "BK is 64, 128 or 256");
  static_assert(BK % kQk == 0 || kQk % BK == 0, "BK divides, or is a multiple of, the block size");
  static_assert(kWarps % 4 == 0 && kWarps >= 4 && kWarps <= 16, "1 to 4 warpgroups");
  static_assert(kGroups % kGroupsM == 0, "the warpgroups split BM into 64-row slices");
  static_assert(BN % kGroupsN == 0 && (kGroupN == 64 || kGroupN == 128 || kGroupN == 256),
                "each warpgroup computes 64, 128 or 256 columns");
  static_assert(kStages >= 3, "dequantization runs one step ahead: at least 3 ring stages");
};

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int kConstN = 0,
          int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) wgmma_gguf_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WgmmaGgufTraits<Fmt, T, BM, BN, BK, kWarps, kStages>;
  const int size_n = kConstN > 0 ? kConstN : p.size_n;
  const int size_k = kConstK > 0 ? kConstK : p.size_k;

  grid_dependency_wait();  // the offsets come from expert_offsets_kernel
  const tc::MTile tile = tc::map_m_tile<BM, 64>(p, blockIdx.x);
  const long long n_tile = tc::n_tile_index();
  // Whole-CTA exits, before any barrier.
  if (tile.expert < 0 || n_tile * BN >= size_n) return;
  const int n0 = static_cast<int>(n_tile) * BN;

  extern __shared__ __align__(1024) unsigned char moejit_wgmma_gguf_smem[];
  unsigned char* base = tc::align_shared<Tr::kAlignSlack>(moejit_wgmma_gguf_smem);
  T* smem_a = reinterpret_cast<T*>(base);
  T* smem_b = smem_a + kStages * Tr::kStageA;
  unsigned char* smem_raw = reinterpret_cast<unsigned char*>(smem_b + 2 * Tr::kTileB);

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int group = tc::warpgroup_index();
  const int group_m = group / Tr::kGroupsN;
  const int group_n = group % Tr::kGroupsN;
  // Descriptors of the warpgroup's first rows in A slot 0 and B tile 0; a step adds its slot's and
  // tile's offsets.
  const unsigned long long desc_a0 = tc::smem_desc_sw128(smem_a + group_m * 64 * 64);
  const unsigned long long desc_b0 = tc::smem_desc_sw128(smem_b + group_n * Tr::kGroupN * 64);

  const unsigned char* expert_w = tc::expert_weights(p, tile.expert);
  tc::RowTileLoader<T, BM, BK, 64, Tr::kThreads, true, true> a_loader;
  a_loader.init(
      tid, [&](int r) { return tc::activation_row<T>(p, tile.begin + r, tile.end, size_k); },
      p.activations);
  typename Tr::Steps w_steps;
  w_steps.init(p, expert_w, n0, size_n, size_k, tid, tc::smem_address(smem_raw + Tr::kRingRaw));
  if constexpr (Tr::kBulk) {
    w_steps.init_barriers(tid);
    tc::mbarrier_init_fence();
    __syncthreads();
  }
  auto issue_step = [&](int kt, int slot) {
    a_loader.load(smem_a + slot * Tr::kStageA, kt * BK, size_k, tid);
    w_steps.load(smem_raw, kt);
  };
  // Dequantizes step kt's staged blocks into the swizzled T tile dst. The proxy fence before the
  // next barrier (at the top of the K loop) orders these writes before the warpgroup MMAs that
  // read them, with the copies that landed.
  auto dequantize_step = [&](int kt, T* dst) {
    w_steps.template dequantize<T>(smem_raw, kt, tid, [&](int r, int g, uint4 packed) {
      *reinterpret_cast<uint4*>(dst + tc::swizzled_offset<BN>(r, g * 8)) = packed;
    });
  };

  const int k_steps = (size_k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_steps) issue_step(s, s);
    tc::cp_async_commit();
  }
  // Step 0's raw blocks, dequantized before the loop.
  if constexpr (Tr::kBulk) {
    w_steps.wait(0);
  } else {
    tc::cp_async_wait<kStages - 2>();
    __syncthreads();
  }
  dequantize_step(0, smem_b);

  tc::WarpAccumulators<1, Tr::kNT> acc;
  acc.zero();
  float(&d)[Tr::kGroupN / 2] = reinterpret_cast<float(&)[Tr::kGroupN / 2]>(acc.v[0]);

  for (int kt = 0; kt < k_steps; ++kt) {
    // This thread's A rows of step kt have landed (and, without kBulk, its raw copies of step
    // kt + 1); the barrier publishes everyone's, and B tile kt % 2.
    tc::cp_async_wait<Tr::kBulk ? kStages - 2 : kStages - 3>();
    tc::fence_proxy_async_shared();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < k_steps) issue_step(next, next % kStages);
    tc::cp_async_commit();
    // Every warpgroup issues its wgmmas, even on padding rows (zeros): a branch around them
    // would make the compiler serialize them with the dequantization below.
    tc::wgmma_fence_operands(d);
    tc::wgmma_fence();
    tc::warpgroup_k_step<T, Tr::kGroupN, BK, BM, BN>(
        d, desc_a0 + tc::smem_desc_units((kt % kStages) * Tr::kStageA * 2),
        desc_b0 + tc::smem_desc_units((kt & 1) * Tr::kTileB * 2));
    tc::wgmma_commit();
    if (kt + 1 < k_steps) {
      w_steps.wait(kt + 1);
      dequantize_step(kt + 1, smem_b + ((kt + 1) & 1) * Tr::kTileB);
    }
    tc::wgmma_fence_operands(d);
    tc::wgmma_wait<0>();
    tc::wgmma_fence_operands(d);
  }

  const int warp_in_group = (tid >> 5) & 3;
  tc::store_warp_tile<float>(p, acc, tile.begin, tile.end, group_m * 64 + warp_in_group * 16,
                             n0 + group_n * Tr::kGroupN, size_n, lane);
}

}  // namespace moejit
