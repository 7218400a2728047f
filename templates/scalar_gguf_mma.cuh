// scalar_gguf_mma_kernel: the main launch of a ScalarGguf call on int8 tensor cores, for the tiles
// whose windows hold 16 to 64 entries (bm >= 16). It computes the same products as
// scalar_gguf_kernel: each weight sub-block's integer codes times the int8 values of the
// activations' q8_1 block, summed exactly (by mma.sync m16n8k32 over a 32-element sub-block, or
// two m16n8k16 for the formats with 16-element scale groups, instead of dp4a), each integer sum
// turned into its f32 contribution by the formula of vecdot::contribution
//   d_a * sum_g( scale[g] * (dot_g - kOffset * sum_g) + min[g] * sum_g ),
// and the contributions added in f32; only the order of those f32 additions differs.
//
// Template parameters:
//   Fmt      a moejit::vecdot traits struct (Q4_0 .. Q6_K)
//   BM       entries per CTA window, a multiple of 16 (at most 64)
//   BN       output columns per CTA tile, a multiple of 16
//   BK       K step: a multiple of Traits::kSpan (the elements whose chunks a step holds whole:
//            32, 64 for the paired k-quant chunks, 128 for q6_K) that divides, or is a multiple
//            of, the block size
//   kWarps   warps per CTA, laid out over BM x BN as tc::warp_rows gives
//   kStages  A ring stages (>= 3), as in wmma_gguf.cuh
//   kConstN, kConstK  N and K compiled in as constants (0: taken from MoeParams)
//
// Geometry: as scalar_gguf_kernel, blockIdx.x strides over the ceil(size_m / BM) entry windows,
// blockIdx.y over the ceil(size_n / BN) column tiles. A window's entries are grouped by expert
// (any order of expert_ids works; sorted ids give one or two groups per window). Per group, a
// K loop with the pipeline of wmma_gguf.cuh (two decoded B tiles, one barrier per step): the
// threads issue the cp.async copies of step kt + kStages - 1 (the member rows' int8 values and
// block words from the split q8_1 staging, other rows zero-filled; the raw weight blocks through
// tc::GgufRawSteps), decode step kt + 1's raw blocks (vecdot load_chunk from shared memory) into
// int8 codes [BN][kLd] and their f32 scales and mins, and each warp runs step kt's MMAs and
// applies the per-sub-block scaling to its f32 accumulators. Rows of the group's members are
// scaled by their top-k weight and stored; columns past size_n and non-member rows are not.
//
// Shared memory: Traits::kSmemBytes dynamic (kStages A stages, the raw ring, two B tiles) plus
// 2 * BM ints static. Preconditions (checked by the host): as scalar_gguf_kernel, with act_q8 in
// the layout of quantize_q8_1_split_kernel and an sm_80+ target. Weight rows are copied as the
// 16-byte words covering their blocks (tc::RawRowLoader): the first word of a row may begin up to
// 14 bytes before the row, inside the same aligned 16 bytes; no byte past the last row of the last
// expert is read.
#pragma once

#include "formats/blocks.cuh"
#include "formats/vec_dot.cuh"
#include "grid_dependency.cuh"
#include "moe_params.cuh"
#include "routed_entry.cuh"
#include "tc/gguf_steps.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_map.cuh"

namespace moejit {

namespace scalar_mma_detail {

// D += A * B for one 16x8x32 step of int8 values: A row-major (four registers of four values),
// B column-major (two registers), s32 accumulation.
__device__ __forceinline__ void mma_k32(int (&d)[4], const unsigned (&a)[4], unsigned b0,
                                        unsigned b1) {
  asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The same for one 16x8x16 step (A: two registers, B: one).
__device__ __forceinline__ void mma_k16(int (&d)[4], unsigned a0, unsigned a1, unsigned b) {
  asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, "
      "{%0, %1, %2, %3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a0), "r"(a1), "r"(b));
}

// Copies 8 bytes (src_bytes 8) or zero-fills them (src_bytes 0) from global src to shared dst,
// both 8-byte aligned.
__device__ __forceinline__ void cp_async8(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(tc::smem_address(dst)),
               "l"(src), "r"(src_bytes)
               : "memory");
}

}  // namespace scalar_mma_detail

template <class Fmt, int BM, int BN, int BK, int kWarps, int kStages>
struct ScalarMmaTraits {
  static constexpr int kThreads = kWarps * 32;
  using Raw = tc::GgufRawSteps<Fmt, BN, BK, kThreads, kStages>;
  static constexpr int kQk = Fmt::kBlockElems;
  static constexpr int kSubs = BK / 32;  // q8_1 blocks (32-element sub-blocks) per step
  static constexpr int kChunkElems = 32 * Fmt::kChunkSubs;
  static constexpr int kSpan = Fmt::kChunkSubs == 1 ? 32 : (Fmt::kActPairs ? 64 : 128);
  static constexpr int kStepChunks = BK / kChunkElems;  // decode tasks per row and step
  static constexpr int kLd = BK + 16;                   // bytes per row of the int8 tiles
  // f32 factors per row and sub-block of a B tile: the group scales, then the group mins.
  static constexpr int kScal = Fmt::kGroups * (Fmt::kHasMin ? 2 : 1);
  static constexpr int kWarpsM = tc::warp_rows(BM, BN, kWarps);
  static constexpr int kWarpsN = kWarpsM > 0 ? kWarps / kWarpsM : 1;
  static constexpr int kWarpTileM = kWarpsM > 0 ? BM / kWarpsM : 16;
  static constexpr int kWarpTileN = BN / kWarpsN;
  static constexpr int kMT = kWarpTileM / 16;
  static constexpr int kNT = kWarpTileN / 8;
  // An A stage: int8 values [BM][kLd], then one 8-byte block word per row and sub-block. A B tile:
  // int8 codes [BN][kLd], then kScal f32 per row and sub-block.
  static constexpr int kStageACodes = BM * kLd;
  static constexpr int kStageA = kStageACodes + BM * kSubs * 8;
  static constexpr int kTileBCodes = BN * kLd;
  static constexpr int kTileB = kTileBCodes + BN * kSubs * kScal * 4;
  static constexpr int kSmemBytes = kStages * kStageA + Raw::kRingBytes + 2 * kTileB;

  static_assert(BM % 16 == 0 && BM >= 16 && BM <= 64, "BM is 16, 32, 48 or 64");
  static_assert(BN % 16 == 0 && BN > 0, "BN is a multiple of 16");
  static_assert(BK % kSpan == 0 && BK > 0, "a K step holds whole chunks");
  static_assert(BK % kQk == 0 || kQk % BK == 0, "BK divides, or is a multiple of, the block size");
  static_assert(kStages >= 3, "decoding runs one step ahead: at least 3 ring stages");
  static_assert(kWarpsM > 0, "no warp layout: BM/16 and BN/16 must split over the warps");
  static_assert(kNT % 2 == 0, "B fragments are loaded for two n8 blocks at a time");
  static_assert(kMT * kNT * 4 <= 64, "warp tile too large (accumulators exceed 64 registers)");
  static_assert(kThreads >= BM, "one thread per window entry reads its ids");
};

template <class Fmt, int BM, int BN, int BK, int kWarps, int kStages, int kConstN = 0,
          int kConstK = 0>
__global__ void __launch_bounds__(kWarps * 32) scalar_gguf_mma_kernel(MoeParams p) {
  grid_dependency_launch_dependents();  // the next call's helper may launch now
  using Tr = ScalarMmaTraits<Fmt, BM, BN, BK, kWarps, kStages>;
  using Raw = typename Tr::Raw;
  using Sub = typename Fmt::Sub;
  static_assert(kConstK % Fmt::kBlockElems == 0, "kConstK must be a multiple of the block size");
  const int size_n = kConstN != 0 ? kConstN : p.size_n;
  const int size_k = kConstK != 0 ? kConstK : p.size_k;
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int warp_m = warp / Tr::kWarpsN;
  const int warp_n = warp % Tr::kWarpsN;
  const int g = lane >> 2;
  const int t = lane & 3;

  extern __shared__ __align__(16) unsigned char moejit_smem[];
  unsigned char* smem_a = moejit_smem;
  unsigned char* smem_raw = smem_a + kStages * Tr::kStageA;
  unsigned char* smem_b = smem_raw + Raw::kRingBytes;
  __shared__ int s_row[BM];     // activation row of each entry of the window (-1: skipped)
  __shared__ int s_expert[BM];  // its expert (-1: skipped)

  const signed char* act_qs = static_cast<const signed char*>(p.act_q8);
  const int subs_per_row = size_k / 32;
  const uint2* act_meta = reinterpret_cast<const uint2*>(
      static_cast<const unsigned char*>(p.act_q8) + static_cast<long long>(p.input_rows) * size_k);
  const int k_steps = (size_k + BK - 1) / BK;
  const int k_blocks = size_k / Tr::kQk;
  const long long windows = (static_cast<long long>(p.size_m) + BM - 1) / BM;
  const int n_tiles = (size_n + BN - 1) / BN;
  float* out = static_cast<float*>(p.output);
  const bool pair_stores =
      (size_n & 1) == 0 && (reinterpret_cast<unsigned long long>(p.output) & 7ull) == 0;

  grid_dependency_wait();  // act_q8 comes from quantize_q8_1_split_kernel

  for (long long win = blockIdx.x; win < windows; win += gridDim.x) {
    __syncthreads();  // the previous window is done with s_row / s_expert
    if (tid < BM) {
      int row = -1;
      int e = -1;
      routed_entry(p, win * BM + tid, row, e);
      s_row[tid] = row;
      s_expert[tid] = e;
    }
    __syncthreads();
    unsigned long long valid = 0;
    for (int m = 0; m < BM; ++m)
      if (s_expert[m] >= 0) valid |= 1ull << m;

    for (int tile = blockIdx.y; tile < n_tiles; tile += gridDim.y) {
      const int n0 = tile * BN;
      unsigned long long pending = valid;
      while (pending != 0) {
        // The next group: every pending entry of the window with the first pending expert.
        const int e = s_expert[__ffsll(static_cast<long long>(pending)) - 1];
        unsigned long long members = 0;
        for (int m = 0; m < BM; ++m)
          if (((pending >> m) & 1ull) != 0 && s_expert[m] == e) members |= 1ull << m;
        pending &= ~members;

        __syncthreads();  // the previous group is done with the A ring, raw ring and B tiles
        const unsigned char* expert_w = tc::expert_weights(p, e);
        Raw w_steps;
        w_steps.init(p, expert_w, n0, size_n, size_k, tid);

        // Step kt's member rows (int8 values, then block words) into A stage `slot`, and its raw
        // weight blocks into their raw slot.
        auto issue_step = [&](int kt, int slot) {
          constexpr int kRowChunks = BK / 16;
          constexpr int kCodeChunks = BM * kRowChunks;
          constexpr int kCopies = kCodeChunks + BM * Tr::kSubs;
          unsigned char* stage = smem_a + slot * Tr::kStageA;
#pragma unroll 2
          for (int c = tid; c < kCopies; c += Tr::kThreads) {
            if (c < kCodeChunks) {
              const int r = c / kRowChunks;
              const int col = kt * BK + (c % kRowChunks) * 16;
              const bool live = ((members >> r) & 1ull) != 0 && col < size_k;
              const signed char* src =
                  live ? act_qs + static_cast<long long>(s_row[r]) * size_k + col : act_qs;
              tc::cp_async16(stage + r * Tr::kLd + (c % kRowChunks) * 16, src, live ? 16 : 0);
            } else {
              const int w = c - kCodeChunks;
              const int r = w / Tr::kSubs;
              const int sub = kt * Tr::kSubs + w % Tr::kSubs;
              const bool live = ((members >> r) & 1ull) != 0 && sub < subs_per_row;
              const uint2* src =
                  live ? act_meta + static_cast<long long>(s_row[r]) * subs_per_row + sub
                       : act_meta;
              scalar_mma_detail::cp_async8(stage + Tr::kStageACodes + w * 8, src, live ? 8 : 0);
            }
          }
          w_steps.load(smem_raw, kt);
        };

        // Decodes step kt's staged weight blocks into the B tile `tile_b`: task c is chunk
        // c % kStepChunks of row c / kStepChunks (zeros past N and past K).
        auto decode_step = [&](int kt, unsigned char* tile_b) {
          float* scal = reinterpret_cast<float*>(tile_b + Tr::kTileBCodes);
          const int first_chunk = kt * (BK / Tr::kChunkElems);  // the step's first chunk of a row
          const int first_sub = kt * Tr::kSubs;
          constexpr int kTasks = BN * Tr::kStepChunks;
#pragma unroll 2
          for (int c = tid; c < kTasks; c += Tr::kThreads) {
            const int r = c / Tr::kStepChunks;
            const int row_chunk = first_chunk + c % Tr::kStepChunks;
            const int blk = row_chunk / Fmt::kChunksPerBlock;
            const int chunk = row_chunk % Fmt::kChunksPerBlock;
            const bool live = n0 + r < size_n && blk < k_blocks;
            Sub w[Fmt::kChunkSubs];
            if (live) {
              const unsigned char* row = w_steps.staged_row(smem_raw, kt, r);
              Fmt::template load_chunk<true>(
                  reinterpret_cast<const typename Fmt::Block*>(row + (blk - Raw::first_block(kt)) *
                                                                         Fmt::kBlockBytes),
                  chunk, w);
            }
#pragma unroll
            for (int u = 0; u < Fmt::kChunkSubs; ++u) {
              const int sub = blk * Fmt::kSubBlocks + Fmt::chunk_sub(chunk, u) - first_sub;
              uint4* codes = reinterpret_cast<uint4*>(tile_b + r * Tr::kLd + sub * 32);
              float* f = scal + (r * Tr::kSubs + sub) * Tr::kScal;
              if (live) {
                codes[0] = make_uint4(w[u].v[0], w[u].v[1], w[u].v[2], w[u].v[3]);
                codes[1] = make_uint4(w[u].v[4], w[u].v[5], w[u].v[6], w[u].v[7]);
#pragma unroll
                for (int gi = 0; gi < Fmt::kGroups; ++gi) {
                  f[gi] = w[u].scale[gi];
                  if constexpr (Fmt::kHasMin) f[Fmt::kGroups + gi] = w[u].min[gi];
                }
              } else {
                codes[0] = make_uint4(0u, 0u, 0u, 0u);
                codes[1] = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
                for (int x = 0; x < Tr::kScal; ++x) f[x] = 0.0f;
              }
            }
          }
        };

        float acc[Tr::kMT][Tr::kNT][4];
#pragma unroll
        for (int mi = 0; mi < Tr::kMT; ++mi)
#pragma unroll
          for (int ni = 0; ni < Tr::kNT; ++ni)
#pragma unroll
            for (int v = 0; v < 4; ++v) acc[mi][ni][v] = 0.0f;
        // Row blocks of this warp that hold a member (the others have only zero rows).
        unsigned live_mi = 0;
#pragma unroll
        for (int mi = 0; mi < Tr::kMT; ++mi)
          if (((members >> (warp_m * Tr::kWarpTileM + mi * 16)) & 0xFFFFull) != 0)
            live_mi |= 1u << mi;

        // Step kt's MMAs and scaling, from A stage `stage_a` and B tile `tile_b`.
        auto mma_step = [&](const unsigned char* stage_a, const unsigned char* tile_b) {
          const uint2* meta = reinterpret_cast<const uint2*>(stage_a + Tr::kStageACodes);
          const float* scal = reinterpret_cast<const float*>(tile_b + Tr::kTileBCodes);
          const unsigned char* wa = stage_a + warp_m * Tr::kWarpTileM * Tr::kLd;
          const unsigned char* wb = tile_b + warp_n * Tr::kWarpTileN * Tr::kLd;
          const int a_row = lane & 15;
          const int a_col = (lane >> 4) * 16;
          const int b_row = (lane & 7) + ((lane >> 4) << 3);
          const int b_col = ((lane >> 3) & 1) * 16;
#pragma unroll
          for (int s = 0; s < Tr::kSubs; ++s) {
            unsigned bf[Tr::kNT][2];
#pragma unroll
            for (int nj = 0; nj < Tr::kNT / 2; ++nj) {
              unsigned r[4];
              tc::ldmatrix_x4(r, wb + (nj * 16 + b_row) * Tr::kLd + s * 32 + b_col);
              bf[2 * nj][0] = r[0];
              bf[2 * nj][1] = r[1];
              bf[2 * nj + 1][0] = r[2];
              bf[2 * nj + 1][1] = r[3];
            }
#pragma unroll
            for (int mi = 0; mi < Tr::kMT; ++mi) {
              if (((live_mi >> mi) & 1u) == 0) continue;
              unsigned af[4];
              tc::ldmatrix_x4(af, wa + (mi * 16 + a_row) * Tr::kLd + s * 32 + a_col);
              // The block words of this lane's rows g and g + 8.
              float da[2];
              int sum_lo[2], sum_hi[2];
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                const uint2 m =
                    meta[(warp_m * Tr::kWarpTileM + mi * 16 + g + 8 * h) * Tr::kSubs + s];
                da[h] = __uint_as_float(m.x);
                sum_lo[h] = static_cast<int>(static_cast<short>(m.y & 0xFFFFu));
                sum_hi[h] = static_cast<int>(m.y) >> 16;
              }
#pragma unroll
              for (int ni = 0; ni < Tr::kNT; ++ni) {
                int dot[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};  // per scale group
                if constexpr (Fmt::kGroups == 1) {
                  scalar_mma_detail::mma_k32(dot[0], af, bf[ni][0], bf[ni][1]);
                } else {
                  scalar_mma_detail::mma_k16(dot[0], af[0], af[1], bf[ni][0]);
                  scalar_mma_detail::mma_k16(dot[1], af[2], af[3], bf[ni][1]);
                }
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                  const int col = warp_n * Tr::kWarpTileN + ni * 8 + 2 * t + j;
                  const float* f = scal + (col * Tr::kSubs + s) * Tr::kScal;
#pragma unroll
                  for (int h = 0; h < 2; ++h) {
                    const int v = 2 * h + j;
                    float r;
                    if constexpr (Fmt::kGroups == 1) {
                      const int sum = sum_lo[h] + sum_hi[h];
                      int d0 = dot[0][v];
                      if constexpr (Fmt::kOffset != 0) d0 -= Fmt::kOffset * sum;
                      r = f[0] * static_cast<float>(d0);
                      if constexpr (Fmt::kHasMin) r = fmaf(f[1], static_cast<float>(sum), r);
                    } else {
                      int d0 = dot[0][v];
                      int d1 = dot[1][v];
                      if constexpr (Fmt::kOffset != 0) {
                        d0 -= Fmt::kOffset * sum_lo[h];
                        d1 -= Fmt::kOffset * sum_hi[h];
                      }
                      r = f[0] * static_cast<float>(d0);
                      r = fmaf(f[1], static_cast<float>(d1), r);
                      if constexpr (Fmt::kHasMin) {
                        r = fmaf(f[2], static_cast<float>(sum_lo[h]), r);
                        r = fmaf(f[3], static_cast<float>(sum_hi[h]), r);
                      }
                    }
                    acc[mi][ni][v] += da[h] * r;
                  }
                }
              }
            }
          }
        };

#pragma unroll
        for (int s = 0; s < kStages - 1; ++s) {
          if (s < k_steps) issue_step(s, s);
          tc::cp_async_commit();
        }
        tc::cp_async_wait<kStages - 2>();
        __syncthreads();
        decode_step(0, smem_b);
        for (int kt = 0; kt < k_steps; ++kt) {
          // This thread's copies of step kt + 1 have landed; the barrier publishes everyone's and
          // B tile kt % 2, and frees A stage (kt - 1) % kStages and B tile (kt + 1) % 2.
          tc::cp_async_wait<kStages - 3>();
          __syncthreads();
          const int next = kt + kStages - 1;
          if (next < k_steps) issue_step(next, next % kStages);
          tc::cp_async_commit();
          if (kt + 1 < k_steps) decode_step(kt + 1, smem_b + ((kt + 1) & 1) * Tr::kTileB);
          mma_step(smem_a + (kt % kStages) * Tr::kStageA, smem_b + (kt & 1) * Tr::kTileB);
        }

        // Member rows: scale by the top-k weight once, store.
#pragma unroll
        for (int mi = 0; mi < Tr::kMT; ++mi) {
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int row = warp_m * Tr::kWarpTileM + mi * 16 + g + 8 * h;
            if (((members >> row) & 1ull) == 0) continue;
            const int pair = p.sorted_ids[win * BM + row];
            const float sc = p.topk_weights != nullptr ? p.topk_weights[pair] : 1.0f;
            float* orow = out + static_cast<long long>(pair) * size_n;
#pragma unroll
            for (int ni = 0; ni < Tr::kNT; ++ni) {
              const int n = n0 + warp_n * Tr::kWarpTileN + ni * 8 + 2 * t;
              const float v0 = __fmul_rn(sc, acc[mi][ni][2 * h]);
              const float v1 = __fmul_rn(sc, acc[mi][ni][2 * h + 1]);
              if (pair_stores && n + 1 < size_n) {
                *reinterpret_cast<float2*>(orow + n) = make_float2(v0, v1);
              } else {
                if (n < size_n) orow[n] = v0;
                if (n + 1 < size_n) orow[n + 1] = v1;
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace moejit
