// WmmaGguf variant: f16/bf16 activations x GGUF weights dequantized (exactly, in f32, then rounded
// to T) into shared memory, tensor cores with f32 accumulation, f32 output:
// out[p, n] = s * sum_k A[in_row, k] * T(dequant(W[e, n, k])).
//
// Kernel: moejit::wmma_gguf_kernel<Fmt, T, BM, BN, BK, kWarps, kStages, kConstN = 0, kConstK = 0,
//                                  kBTiles = 2>
//   Fmt      a moejit::fmt trait (Q4_0 ... Q6_K, formats/dequant.cuh)
//   T        __half or __nv_bfloat16 (activations, and the type weights are dequantized to)
//   BM x BN  CTA tile: BM entries of one expert's segment x BN output columns
//   BK       K step, a multiple of 32; for k-quants (256-element blocks) a divisor or a multiple
//            of 256. A step covers max(1, BK / qk) whole blocks per weight row; with BK < 256 the
//            steps inside one super-block stage it once, at the first of them
//            (tc::GgufWeightSteps).
//   kWarps, kConstN, kConstK: as for wmma_kernel (wmma.cuh); kStages >= 3 ring stages.
//   kBTiles  2: the dequantized B tile is double-buffered (one barrier per K step); 1: one B tile
//            and two barriers per step, for tiles whose smaller footprint lets one more CTA share
//            a multiprocessor (codegen picks it).
// Grid, block and launch order: as wmma_kernel; dynamic shared memory WmmaGgufTraits::kSmemBytes.
//
// Thread roles per K step kt: all threads issue the cp.async copies of step kt + kStages - 1 (the
// gathered activation rows and the raw block bytes of weight rows n0..n0+BN), then dequantize the
// staged blocks of step kt + 1 into one of two T tiles (tasks of Fmt::kMmaTaskGroups 8-element
// groups where they split evenly, else fewer: tc::GgufWeightSteps), then each warp runs ldmatrix +
// mma.sync on step kt's A slot and the other T tile. Shared memory: kStages x A stage [BM][BK + 8]
// T, tc::GgufWeightSteps::kRawSlots raw stages [BN][kRawRowBytes] bytes (16-byte chunks starting at
// the row's block address rounded down to 16), 2 x B tile [BN][BK + 8] T. One barrier per step: it
// follows the wait for step kt + 1's copies, publishes them and B tile kt % 2, and frees A ring
// slot (kt - 1) % kStages (refilled right after; raw slots are reused as tc/gguf_steps.cuh
// explains) and B tile (kt + 1) % 2 (rewritten right after); hence kStages >= 3. With one B tile,
// step kt issues the copies of step kt + kStages - 1, runs its MMAs, waits for step kt + 1's
// copies, and between two barriers (all MMAs done with B; B rewritten) dequantizes step kt + 1.
// Preconditions (checked by the planner): K % qk == 0 and K % 8 == 0; activations and weights
// 16-byte aligned, output 8-byte aligned; expert_ids sorted ascending (entries outside [0, E) and
// pair ids outside [0, num_pairs) are skipped). Weight strides may be any multiple of 2; no byte
// past the last row of the last expert is read.
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

namespace moejit {

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int kBTiles = 2>
struct WmmaGgufTraits {
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kLd = BK + 8;
  using Steps = tc::GgufWeightSteps<Fmt, BN, BK, kThreads, kStages, false, Fmt::kMmaTaskGroups>;
  static constexpr int kQk = Steps::kQk;
  static constexpr int kRawRowBytes = Steps::kRawRowBytes;
  static constexpr int kWarpsM = tc::warp_rows(BM, BN, kWarps);
  static constexpr int kWarpsN = kWarpsM > 0 ? kWarps / kWarpsM : 1;
  static constexpr int kWarpTileM = kWarpsM > 0 ? BM / kWarpsM : 16;
  static constexpr int kWarpTileN = BN / kWarpsN;
  static constexpr int kMT = kWarpTileM / 16;
  static constexpr int kNT = kWarpTileN / 8;
  static constexpr int kStageA = BM * kLd;            // elements
  static constexpr int kRingRaw = Steps::kRingBytes;  // bytes
  static constexpr int kTileB = BN * kLd;             // elements
  static constexpr int kSmemBytes = kStages * kStageA * 2 + kRingRaw + kBTiles * kTileB * 2;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert(BM % 16 == 0 && BN % 16 == 0, "BM and BN are multiples of 16");
  static_assert(BK % 32 == 0 && BK > 0, "BK is a multiple of 32");
  static_assert(BK % kQk == 0 || kQk % BK == 0, "BK divides, or is a multiple of, the block size");
  static_assert(kWarps >= 1 && kWarps <= 32, "1 to 32 warps");
  static_assert(kStages >= 3, "dequantization runs one step ahead: at least 3 ring stages");
  static_assert(kBTiles == 1 || kBTiles == 2, "one or two dequantized B tiles");
  static_assert(kWarpsM > 0, "no warp layout: BM/16 and BN/16 must split over the warps");
  static_assert(kMT * kNT * 4 <= 128, "warp tile too large (accumulators exceed 128 registers)");
};

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int kConstN = 0,
          int kConstK = 0, int kBTiles = 2>
__global__ void __launch_bounds__(kWarps * 32) wmma_gguf_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WmmaGgufTraits<Fmt, T, BM, BN, BK, kWarps, kStages, kBTiles>;
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
  unsigned char* smem_raw = moejit_smem + kStages * Tr::kStageA * 2;
  T* smem_b = reinterpret_cast<T*>(smem_raw + Tr::kRingRaw);

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
  typename Tr::Steps w_steps;
  w_steps.init(p, expert_w, n0, size_n, size_k, tid);
  auto issue_step = [&](int kt, int slot) {
    a_loader.load(smem_a + slot * Tr::kStageA, kt * BK, size_k, tid);
    w_steps.load(smem_raw, kt);
  };
  // Dequantizes step kt's staged blocks into the T tile dst.
  auto dequantize_step = [&](int kt, T* dst) {
    w_steps.template dequantize<T>(smem_raw, kt, tid, [&](int r, int g, uint4 packed) {
      *reinterpret_cast<uint4*>(dst + r * Tr::kLd + g * 8) = packed;
    });
  };

  const int k_steps = (size_k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_steps) issue_step(s, s);
    tc::cp_async_commit();
  }
  // Step 0 is dequantized before the loop; step kt + 1 while (two B tiles) or after (one) step kt
  // runs its MMAs.
  tc::cp_async_wait<kStages - 2>();
  __syncthreads();
  dequantize_step(0, smem_b);
  if constexpr (kBTiles == 1) __syncthreads();

  tc::WarpAccumulators<Tr::kMT, Tr::kNT> acc;
  acc.zero();
  const int live_rows = (tile.end - tile.begin) - warp_m * Tr::kWarpTileM;
  const T* warp_a = smem_a + warp_m * Tr::kWarpTileM * Tr::kLd;
  const int warp_b_offset = warp_n * Tr::kWarpTileN * Tr::kLd;

  if constexpr (kBTiles == 2) {
    for (int kt = 0; kt < k_steps; ++kt) {
      // This thread's copies of step kt + 1 have landed; the barrier publishes everyone's, and the
      // B tile of step kt, and frees ring slot (kt - 1) % kStages and B tile (kt + 1) % 2.
      tc::cp_async_wait<kStages - 3>();
      __syncthreads();
      const int next = kt + kStages - 1;
      if (next < k_steps) issue_step(next, next % kStages);
      tc::cp_async_commit();
      if (kt + 1 < k_steps) dequantize_step(kt + 1, smem_b + ((kt + 1) & 1) * Tr::kTileB);
      tc::warp_mma_k_step<T, Tr::kMT, Tr::kNT, BK, Tr::kLd>(
          acc, warp_a + (kt % kStages) * Tr::kStageA,
          smem_b + (kt & 1) * Tr::kTileB + warp_b_offset, lane, live_rows);
    }
  } else {
    for (int kt = 0; kt < k_steps; ++kt) {
      // Ring slot (kt - 1) % kStages was last read by step kt - 1's MMAs and step kt - 1's
      // dequantization, both before the last barrier.
      const int next = kt + kStages - 1;
      if (next < k_steps) issue_step(next, next % kStages);
      tc::cp_async_commit();
      tc::warp_mma_k_step<T, Tr::kMT, Tr::kNT, BK, Tr::kLd>(
          acc, warp_a + (kt % kStages) * Tr::kStageA, smem_b + warp_b_offset, lane, live_rows);
      if (kt + 1 < k_steps) {
        // Step kt + 1's copies have landed (this thread's; the barrier publishes everyone's) and
        // every warp is done with B; the second barrier publishes the new B tile.
        tc::cp_async_wait<kStages - 2>();
        __syncthreads();
        dequantize_step(kt + 1, smem_b);
        __syncthreads();
      }
    }
  }

  tc::store_warp_tile<float>(p, acc, tile.begin, tile.end, warp_m * Tr::kWarpTileM,
                             n0 + warp_n * Tr::kWarpTileN, size_n, lane);
}

}  // namespace moejit
