// Warp-level MMA over one shared-memory K step: a warp tile of kMT x kNT m16n8 accumulators fed
// by ldmatrix from an A tile [rows][kLd] (K contiguous) and a B tile [n][kLd] (K contiguous, i.e.
// B column-major), f32 accumulation with mma.sync m16n8k16.
#pragma once

#include "tc/ptx.cuh"

namespace moejit {
namespace tc {

// Fragment ownership (lane = 4 * g + t): acc[mi][ni][0..1] is row mi*16 + g, columns
// ni*8 + 2t and 2t + 1 of the warp tile; acc[mi][ni][2..3] the same columns of row mi*16 + g + 8.
template <int kMT, int kNT>
struct WarpAccumulators {
  float v[kMT][kNT][4];

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
      for (int ni = 0; ni < kNT; ++ni)
#pragma unroll
        for (int r = 0; r < 4; ++r) v[mi][ni][r] = 0.0f;
  }
};

// Accumulates a[warp rows][0..kBK) x b[warp cols][0..kBK)^T. a points at the warp's first A row,
// b at its first B row. Row blocks mi with mi*16 >= live_rows hold only padding rows: the warp
// skips their loads and MMAs (live_rows is the same for every lane, so the branch is uniform).
template <class T, int kMT, int kNT, int kBK, int kLd>
__device__ __forceinline__ void warp_mma_k_step(WarpAccumulators<kMT, kNT>& acc, const T* a,
                                                const T* b, int lane, int live_rows) {
  static_assert(kNT % 2 == 0, "B fragments are loaded for two n8 blocks at a time");
  static_assert(kBK % 16 == 0, "K step is a multiple of the MMA depth");
  const int a_row = lane & 15;
  const int a_col = (lane >> 4) * 8;
  const int b_row = (lane & 7) + ((lane >> 4) << 3);
  const int b_col = ((lane >> 3) & 1) * 8;
#pragma unroll
  for (int kk = 0; kk < kBK; kk += 16) {
    unsigned bf[kNT][2];
#pragma unroll
    for (int nj = 0; nj < kNT / 2; ++nj) {
      unsigned r[4];
      ldmatrix_x4(r, b + (nj * 16 + b_row) * kLd + kk + b_col);
      bf[2 * nj][0] = r[0];
      bf[2 * nj][1] = r[1];
      bf[2 * nj + 1][0] = r[2];
      bf[2 * nj + 1][1] = r[3];
    }
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
      if (mi * 16 < live_rows) {
        unsigned af[4];
        ldmatrix_x4(af, a + (mi * 16 + a_row) * kLd + kk + a_col);
#pragma unroll
        for (int ni = 0; ni < kNT; ++ni) Mma16816<T>::run(acc.v[mi][ni], af, bf[ni]);
      }
    }
  }
}

}  // namespace tc
}  // namespace moejit
