// Epilogue of the tensor-core kernels: scales each accumulator row by its top-k weight in f32 and
// stores it, rounded once to the output type, to output row p = sorted_ids[entry].
#pragma once

#include "moe_params.cuh"
#include "tc/ptx.cuh"
#include "tc/warp_mma.cuh"

namespace moejit {
namespace tc {

// Output element stores: f32, or a 16-bit element type rounded to nearest even.
template <class T>
struct OutputStore {
  static __device__ __forceinline__ void pair(T* dst, float v0, float v1) {
    *reinterpret_cast<unsigned*>(dst) = Convert<T>::pack2(v0, v1);
  }
  static __device__ __forceinline__ void one(T* dst, float v) { *dst = Convert<T>::from_float(v); }
};

template <>
struct OutputStore<float> {
  static __device__ __forceinline__ void pair(float* dst, float v0, float v1) {
    *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
  }
  static __device__ __forceinline__ void one(float* dst, float v) { *dst = v; }
};

// Stores the warp tile whose first row is tile row row0 (entry m_begin + row0) and whose first
// column is global column col0. Rows at or past m_end, rows whose pair id is outside
// [0, num_pairs) and columns at or past size_n are not written. Pairs of columns are stored with
// one 4- or 8-byte store when size_n is even (the output must be 8-byte aligned).
template <class Out, int kMT, int kNT>
__device__ __forceinline__ void store_warp_tile(const MoeParams& p,
                                                const WarpAccumulators<kMT, kNT>& acc, int m_begin,
                                                int m_end, int row0, int col0, int size_n,
                                                int lane) {
  Out* out = static_cast<Out*>(p.output);
  const int g = lane >> 2;
  const int t = lane & 3;
  const bool even_n = (size_n & 1) == 0;
#pragma unroll
  for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int entry = m_begin + row0 + mi * 16 + g + half * 8;
      if (entry >= m_end) continue;
      const int pair_id = p.sorted_ids[entry];
      if (pair_id < 0 || pair_id >= p.num_pairs) continue;
      const float s = p.topk_weights != nullptr ? p.topk_weights[pair_id] : 1.0f;
      Out* row = out + static_cast<long long>(pair_id) * size_n;
#pragma unroll
      for (int ni = 0; ni < kNT; ++ni) {
        const int n = col0 + ni * 8 + 2 * t;
        const float v0 = __fmul_rn(s, acc.v[mi][ni][2 * half]);
        const float v1 = __fmul_rn(s, acc.v[mi][ni][2 * half + 1]);
        if (even_n && n + 1 < size_n) {
          OutputStore<Out>::pair(row + n, v0, v1);
        } else {
          if (n < size_n) OutputStore<Out>::one(row + n, v0);
          if (n + 1 < size_n) OutputStore<Out>::one(row + n + 1, v1);
        }
      }
    }
  }
}

}  // namespace tc
}  // namespace moejit
