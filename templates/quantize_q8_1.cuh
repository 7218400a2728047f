// quantize_q8_1_kernel (and quantize_q8_1_split_kernel, below): the first launch of a ScalarGguf
// call. Quantizes the f32 activation rows into q8_1 blocks in the workspace, bit for bit as the
// CPU reference (moejit::quantize_q8_1), except the bits of a NaN (s of a block holding an
// infinity is half(inf * 0): the GPU's NaN is the canonical 0x7FFF, an x86 host's is negative).
#pragma once

#include <cuda_fp16.h>

#include "formats/blocks.cuh"
#include "grid_dependency.cuh"
#include "moe_params.cuh"

namespace moejit {

namespace q8_1_detail {

// One block's quantization, lane l holding value l of the block (all 32 lanes of the warp call
// it together). Returns this lane's q; d is the f32 block scale and sum the exact sum of the
// block's q values (the same in every lane).
__device__ __forceinline__ int quantize_lane(float v, float& d, int& sum) {
  const unsigned kFull = 0xFFFFFFFFu;
  float amax = fabsf(v);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(kFull, amax, o));
  d = __fdiv_rn(amax, 127.0f);
  const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
  const int q = max(-127, min(127, static_cast<int>(roundf(__fmul_rn(v, id)))));
  sum = q;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(kFull, sum, o);
  return q;
}

// The word of four q values lanes l .. l + 3 hold, in lane l (any lane; meaningful where l % 4
// == 0).
__device__ __forceinline__ unsigned pack4(int q) {
  const unsigned kFull = 0xFFFFFFFFu;
  const unsigned b0 = static_cast<unsigned>(q) & 0xFFu;
  const unsigned b1 = __shfl_down_sync(kFull, b0, 1);
  const unsigned b2 = __shfl_down_sync(kFull, b0, 2);
  const unsigned b3 = __shfl_down_sync(kFull, b0, 3);
  return b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
}

// Waits for the stream's previous kernel and lets the main kernel launch (grid_dependency.cuh),
// then quantizes every block of the activations: warps grid-stride over the
// input_rows * size_k / 32 blocks in row-major order (64-bit indices), each warp one block at a
// time with lane l holding value l, and call store(blk, lane, q, d, sum) with quantize_lane's
// results (all 32 lanes, together).
template <class Store>
__device__ __forceinline__ void for_each_block(const MoeParams& p, Store store) {
  grid_dependency_wait();
  grid_dependency_launch_dependents();
  const int lane = static_cast<int>(threadIdx.x & 31u);
  const long long warps_per_cta = blockDim.x >> 5;
  const long long warp_stride = static_cast<long long>(gridDim.x) * warps_per_cta;
  const long long total =
      static_cast<long long>(p.input_rows) * static_cast<long long>(p.size_k / 32);
  const float* x = static_cast<const float*>(p.activations);
  for (long long blk = static_cast<long long>(blockIdx.x) * warps_per_cta + (threadIdx.x >> 5);
       blk < total; blk += warp_stride) {
    // size_k is a whole number of blocks, so block blk holds values [32 blk, 32 blk + 32).
    float d;
    int sum;
    const int q = quantize_lane(x[blk * 32 + lane], d, sum);
    store(blk, lane, q, d, sum);
  }
}

}  // namespace q8_1_detail

// Reads p.activations (f32 [input_rows, size_k], row-major) and writes p.act_q8
// (gguf::BlockQ8_1 [input_rows, size_k / 32]). Per block of 32 values x:
//   amax = max |x|;  d = amax / 127;  id = d != 0 ? 1 / d : 0;
//   q = clamp((int) roundf(x * id), -127, 127);
//   block.d = half_rn(d);  block.s = half_rn(d * f32(sum of q)).
// The clamp only acts when amax is so small (below about 3.7e-37) that 1 / d overflows to
// infinity; block.d is then 0 in half precision, so the block contributes nothing either way.
// Every operation is one IEEE f32 operation written with an explicit _rn intrinsic, so no FMA
// contraction can change a bit.
//
// Thread roles: each warp quantizes one block at a time, lane l owning value l of the block
// (a coalesced 128-byte read); warps grid-stride over all input_rows * size_k / 32 blocks in
// row-major order (64-bit indices). Lane 0 stores the d/s word, lanes 0, 4, .., 28 store one
// packed word of four q values each. No shared memory, no barriers; any grid and any block size
// that is a multiple of 32 works (the launch plan uses 256 threads). Once the stream's previous
// kernel has completed it lets the main kernel launch (grid_dependency.cuh); that kernel waits
// for it before reading act_q8.
//
// Preconditions: size_k % 32 == 0; p.act_q8 4-byte aligned (the workspace is 256-byte aligned);
// compiled with IEEE division and denormals (NVRTC's defaults; not with -ftz=true or
// --use_fast_math), which the bit-exact match relies on. As in the CPU reference, amax ignores
// NaN and a NaN value quantizes to 0 (the float-to-int conversion saturates and maps NaN to 0).
__global__ void quantize_q8_1_kernel(MoeParams p) {
  unsigned* out = static_cast<unsigned*>(p.act_q8);
  q8_1_detail::for_each_block(p, [&](long long blk, int lane, int q, float d, int sum) {
    const unsigned word = q8_1_detail::pack4(q);
    unsigned* dst = out + blk * 9;  // 36-byte blocks
    if (lane == 0) {
      const unsigned dh = __half_as_ushort(__float2half_rn(d));
      const unsigned sh = __half_as_ushort(__float2half_rn(__fmul_rn(d, static_cast<float>(sum))));
      dst[0] = dh | (sh << 16);
    }
    if ((lane & 3) == 0) dst[1 + (lane >> 2)] = word;
  });
}

// quantize_q8_1_split_kernel: the same quantization, written for the int8 tensor-core tiles of
// ScalarGguf (scalar_gguf_mma.cuh) as two arrays: p.act_q8 holds the q values, int8
// [input_rows, size_k] in element order (16-byte aligned rows when size_k % 16 == 0), followed at
// byte input_rows * size_k by one 8-byte word per block, [input_rows, size_k / 32]: the f32 value
// of the block's half d (what the dot products scale by) and, in the second 32-bit half, the exact
// sums of the block's q values over elements 0..15 (low 16 bits, two's complement) and 16..31
// (high 16 bits). The q and d values are bit for bit those of quantize_q8_1_kernel.
__global__ void quantize_q8_1_split_kernel(MoeParams p) {
  const unsigned kFull = 0xFFFFFFFFu;
  unsigned* qs = static_cast<unsigned*>(p.act_q8);
  uint2* meta = reinterpret_cast<uint2*>(static_cast<unsigned char*>(p.act_q8) +
                                         static_cast<long long>(p.input_rows) * p.size_k);
  q8_1_detail::for_each_block(p, [&](long long blk, int lane, int q, float d, int) {
    const unsigned word = q8_1_detail::pack4(q);
    int half_sum = q;  // the sum over this lane's half of the block (lanes 0..15 or 16..31)
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) half_sum += __shfl_xor_sync(kFull, half_sum, o);
    const int hi = __shfl_sync(kFull, half_sum, 16);
    if (lane == 0) {
      const float df = __half2float(__float2half_rn(d));
      meta[blk] = make_uint2(__float_as_uint(df), (static_cast<unsigned>(half_sum) & 0xFFFFu) |
                                                      (static_cast<unsigned>(hi) << 16));
    }
    if ((lane & 3) == 0) qs[blk * 8 + (lane >> 2)] = word;
  });
}

}  // namespace moejit
