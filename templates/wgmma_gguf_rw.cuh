// WmmaGguf register-weight tiles on Hopper (sm_90a): the operands of wgmma_gguf.cuh swapped.
// Dequantized GGUF weights are the A operand of wgmma.mma_async m64nNk16 (f32 accumulation), held
// in registers, and the activation rows of an m-tile are the B operand, in a 128-byte-swizzled
// shared ring. Same contract and results as wmma_gguf_kernel:
// out[p, n] = s * sum_k A[in_row, k] * T(dequant(W[e, n, k])).
//
// Kernel: moejit::wgmma_gguf_rw_kernel<Fmt, T, BM, BN, BK, kWarps, kStages, kConstN, kConstK>
//   Fmt      a format with dequantize_quad_pairs: the formats of 32-element blocks (q4_0, q4_1,
//            q5_0, q5_1, q8_0), q4_K and q6_K
//   T        __half or __nv_bfloat16 (activations, and the weights rounded once to T)
//   BM       the most entries of an m-tile (32 to 192 by 32)
//   BN       weight rows (output columns) per CTA, 16 per warp: BN = 16 * kWarps
//   BK       64 (one K step: two blocks, or two 32-element sub-blocks, of each row)
//   kStages  >= 3 ring stages of activation rows (raw weight blocks: tc/gguf_steps.cuh)
// Grid and launch order: as wmma_gguf_kernel (m-tile slots along x, n-tiles along y and z), with
// m-tile heights rounded to 32 entries (tc::map_m_tile<BM, 32>). Dynamic shared memory:
// WgmmaGgufRwTraits::kSmemBytes (1024 bytes of it are slack to align the swizzled ring).
//
// Why: a tile's entries are the wgmma's N, which steps by 8, so a segment of h entries costs
// about h columns of MMA work instead of whole 64-row slices, and no dequantized tile goes
// through shared memory (no stores, no proxy fence). Each CTA covers the whole m-tile (its N is
// the m-tile height rounded up to 32, chosen once per CTA from BM / 32 compiled variants), so an
// expert's weights are dequantized once per m-tile.
//
// Thread roles: warp w of the CTA owns weight rows 16w .. 16w + 15 (warpgroup w / 4 issues their
// wgmmas); lane l holds, in the mma.sync A layout, rows 16w + l / 4 and 16w + l / 4 + 8, elements
// 2 (l % 4), + 1, + 8, + 9 of each 16-element K slice. Per K step kt: all threads wait for step
// kt's activation rows and step kt + 1's raw blocks, a proxy fence and one barrier publish them;
// they issue the copies of step kt + kStages - 1; each warpgroup issues its four wgmmas of step kt
// from the fragments dequantized in the step before; while those run, each thread dequantizes its
// fragments of step kt + 1 from the staged raw blocks; then the warpgroup waits for its wgmmas. At
// the next barrier every wgmma of step kt is complete, so its ring slot is free.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "formats/dequant.cuh"
#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "tc/gguf_steps.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_loader.cuh"
#include "tc/tile_map.cuh"
#include "tc/wgmma_ptx.cuh"
#include "tc/wgmma_reg_a.cuh"

namespace moejit {

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages>
struct WgmmaGgufRwTraits {
  static constexpr int kThreads = kWarps * 32;
  using Raw = tc::GgufRawSteps<Fmt, BN, BK, kThreads, kStages>;
  static constexpr int kSlice = 32;        // m-tile heights round up to this
  static constexpr int kStageA = BM * BK;  // activation elements per ring stage
  static constexpr int kAlignSlack = 1024;
  // The activation ring first (multiples of 1024 bytes), then the raw ring.
  static constexpr int kSmemBytes = kStages * kStageA * 2 + Raw::kRingBytes + kAlignSlack;

  static_assert(sizeof(T) == 2, "T is __half or __nv_bfloat16");
  static_assert((Fmt::kBlockElems == 32 || Fmt::kBlockElems == 256) && BK == 64,
                "K steps of two 32-element blocks or sub-blocks");
  // BM <= 192: the n192 variant's 96 accumulators and its fragments fit 229 registers with 8
  // warps, and 168 (some bytes spilled) with 12 (q8_0); m-tiles of 256 entries spill far more.
  static_assert(BM % kSlice == 0 && BM >= kSlice && BM <= 192, "BM: 32 .. 192 by 32");
  static_assert(kWarps % 4 == 0 && kWarps >= 4 && kWarps <= 16, "1 to 4 warpgroups");
  static_assert(BN == 16 * kWarps, "16 weight rows per warp");
  static_assert(kStages >= 3, "dequantization runs one step ahead: at least 3 ring stages");
};

namespace wgmma_rw_detail {

// The A fragments of step kt for weight rows r0 and r0 + 8 of the tile and lane quad position t:
// frag[kk] feeds the wgmma of K slice kk (16 elements) of the step.
template <class Fmt, class T, class Raw>
__device__ __forceinline__ void dequantize_fragments(const Raw& raw, const unsigned char* ring,
                                                     int kt, int r0, int t,
                                                     unsigned (&frag)[4][4]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const unsigned char* row = raw.staged_row(ring, kt, r0 + 8 * h);
#pragma unroll
    for (int b = 0; b < 2; ++b) {
      float y[8];
      if constexpr (Fmt::kBlockElems == 32) {
        Fmt::dequantize_quad_pairs(row + b * Fmt::kBlockBytes, t,
                                   Raw::first_block(kt) + b < raw.k_blocks, y);
      } else {
        // The step is 32-element sub-blocks 2 (kt % 4) and 2 (kt % 4) + 1 of one super-block.
        Fmt::dequantize_quad_pairs(row, 2 * (kt % Raw::kStepsPerBlock) + b, t,
                                   Raw::first_block(kt) < raw.k_blocks, y);
      }
      // Elements 2t, 2t + 1 (+ 8, + 16, + 24) of (sub-)block b: K slices 2b (low and high
      // halves) and 2b + 1.
      frag[2 * b][h] = tc::Convert<T>::pack2(y[0], y[1]);
      frag[2 * b][2 + h] = tc::Convert<T>::pack2(y[2], y[3]);
      frag[2 * b + 1][h] = tc::Convert<T>::pack2(y[4], y[5]);
      frag[2 * b + 1][2 + h] = tc::Convert<T>::pack2(y[6], y[7]);
    }
  }
}

// The m-tile with the wgmma width N (>= its height).
template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int N>
__device__ __forceinline__ void run_tile(const MoeParams& p, const tc::MTile& tile, int n0,
                                         int size_n, int size_k) {
  using Tr = WgmmaGgufRwTraits<Fmt, T, BM, BN, BK, kWarps, kStages>;
  extern __shared__ __align__(1024) unsigned char moejit_wgmma_gguf_rw_smem[];
  unsigned char* base = tc::align_shared<Tr::kAlignSlack>(moejit_wgmma_gguf_rw_smem);
  T* ring_a = reinterpret_cast<T*>(base);
  unsigned char* ring_raw = base + kStages * Tr::kStageA * 2;
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int r0 = 16 * (tid >> 5) + (lane >> 2);
  const int t = lane & 3;
  const unsigned long long desc_b0 = tc::smem_desc_sw128(ring_a);

  const unsigned char* expert_w = tc::expert_weights(p, tile.expert);
  tc::RowTileLoader<T, BM, BK, 64, Tr::kThreads, true, true> a_loader;
  a_loader.init(
      tid, [&](int r) { return tc::activation_row<T>(p, tile.begin + r, tile.end, size_k); },
      p.activations);
  typename Tr::Raw raw;
  raw.init(p, expert_w, n0, size_n, size_k, tid);
  auto issue_step = [&](int kt, int slot) {
    a_loader.load(ring_a + slot * Tr::kStageA, kt * BK, size_k, tid);
    raw.load(ring_raw, kt);
  };

  const int k_steps = (size_k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_steps) issue_step(s, s);
    tc::cp_async_commit();
  }
  tc::cp_async_wait<kStages - 2>();
  __syncthreads();
  unsigned frag[4][4];
  dequantize_fragments<Fmt, T>(raw, ring_raw, 0, r0, t, frag);

  float d[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) d[i] = 0.0f;

  for (int kt = 0; kt < k_steps; ++kt) {
    // This thread's activation rows of step kt and raw blocks of step kt + 1 have landed; the
    // barrier publishes everyone's.
    tc::cp_async_wait<kStages - 3>();
    tc::fence_proxy_async_shared();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < k_steps) issue_step(next, next % kStages);
    tc::cp_async_commit();
    tc::wgmma_fence_operands(d);
    tc::wgmma_fence();
    const unsigned long long desc_b =
        desc_b0 + tc::smem_desc_units((kt % kStages) * Tr::kStageA * 2);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) tc::WgmmaRegA<T, N>::run(d, frag[kk], desc_b + 2 * kk);
    tc::wgmma_commit();
    unsigned next_frag[4][4];
    if (kt + 1 < k_steps) dequantize_fragments<Fmt, T>(raw, ring_raw, kt + 1, r0, t, next_frag);
    tc::wgmma_fence_operands(d);
    tc::wgmma_wait<0>();
    tc::wgmma_fence_operands(d);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      tc::wgmma_fence_fragment(frag[kk]);  // read by the wgmmas until the wait above
#pragma unroll
      for (int i = 0; i < 4; ++i) frag[kk][i] = next_frag[kk][i];
    }
  }

  // Column c of the accumulators is entry tile.begin + c: d[4j + 2h + c'] holds weight row
  // r0 + 8h, column 8j + 2t + c'.
  float* out = static_cast<float*>(p.output);
#pragma unroll
  for (int j = 0; j < N / 8; ++j) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int entry = tile.begin + 8 * j + 2 * t + c;
      if (entry >= tile.end) continue;
      const int pair_id = p.sorted_ids[entry];
      if (pair_id < 0 || pair_id >= p.num_pairs) continue;
      const float s = p.topk_weights != nullptr ? p.topk_weights[pair_id] : 1.0f;
      float* row = out + static_cast<long long>(pair_id) * size_n;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int n = n0 + r0 + 8 * h;
        if (n < size_n) row[n] = __fmul_rn(s, d[4 * j + 2 * h + c]);
      }
    }
  }
}

// run_tile with the narrowest N (a multiple of 32 up to BM) that holds `slices` 32-entry slices.
template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int N>
__device__ __forceinline__ void run_tile_for(const MoeParams& p, const tc::MTile& tile, int n0,
                                             int size_n, int size_k, int slices) {
  if constexpr (N < BM) {
    if (slices * 32 > N) {
      run_tile_for<Fmt, T, BM, BN, BK, kWarps, kStages, N + 32>(p, tile, n0, size_n, size_k,
                                                                slices);
      return;
    }
  }
  run_tile<Fmt, T, BM, BN, BK, kWarps, kStages, N>(p, tile, n0, size_n, size_k);
}

}  // namespace wgmma_rw_detail

template <class Fmt, class T, int BM, int BN, int BK, int kWarps, int kStages, int kConstN = 0,
          int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) wgmma_gguf_rw_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = WgmmaGgufRwTraits<Fmt, T, BM, BN, BK, kWarps, kStages>;
  const int size_n = kConstN > 0 ? kConstN : p.size_n;
  const int size_k = kConstK > 0 ? kConstK : p.size_k;

  grid_dependency_wait();  // the offsets come from expert_offsets_kernel
  const tc::MTile tile = tc::map_m_tile<BM, Tr::kSlice>(p, blockIdx.x);
  const long long n_tile = tc::n_tile_index();
  // Whole-CTA exits, before any barrier.
  if (tile.expert < 0 || n_tile * BN >= size_n) return;
  const int slices = (tile.end - tile.begin + Tr::kSlice - 1) / Tr::kSlice;
  wgmma_rw_detail::run_tile_for<Fmt, T, BM, BN, BK, kWarps, kStages, Tr::kSlice>(
      p, tile, static_cast<int>(n_tile) * BN, size_n, size_k, slices);
}

}  // namespace moejit
