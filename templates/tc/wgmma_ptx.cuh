// PTX of the Hopper warpgroup MMA (sm_90a): shared-memory matrix descriptors for the 128-byte
// swizzled K-major layout, the wgmma fences, and wgmma.mma_async m64nNk16 with f32 accumulation
// for f16 and bf16 operands, both K-major in shared memory.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tc/ptx.cuh"
#include "tc/wgmma_operands.cuh"

namespace moejit {
namespace tc {

// Descriptor of a K-major operand tile in shared memory laid out in 128-byte swizzle atoms: rows
// of 64 16-bit elements (128 bytes), 8 rows per 1024-byte atom, 16-byte chunk c of row r stored
// at chunk position c ^ (r % 8). `tile` is the address of the first row used and must lie at a
// multiple of 1024 bytes from the atom grid, plus 32 * j bytes to start at K element 16 * j.
// Fields: start address >> 4 (bits 0-13), leading byte offset (unused by swizzled K-major
// layouts; 1), stride byte offset 1024 >> 4 (bits 32-45: the next 8-row atom), swizzle mode
// 128 B (bits 62-63 = 1).
__device__ __forceinline__ unsigned long long smem_desc_sw128(const void* tile) {
  const unsigned long long addr = smem_address(tile);
  return ((addr & 0x3FFFFull) >> 4) | (1ull << 16) | ((1024ull >> 4) << 32) | (1ull << 62);
}

// What to add to a descriptor's start address field to move it `bytes` (a multiple of 16) on, for
// a tile that stays below 256 KB of shared memory (the field's 14 bits do not overflow).
__host__ __device__ constexpr unsigned long long smem_desc_units(int bytes) {
  return static_cast<unsigned long long>(bytes) >> 4;
}

// The first multiple of kAlign bytes (a power of two) at or after the dynamic shared memory
// base `smem`; the kernel reserves kAlign bytes of slack for it.
template <unsigned kAlign>
__device__ __forceinline__ unsigned char* align_shared(unsigned char* smem) {
  const unsigned misalign = smem_address(smem) & (kAlign - 1);
  return smem + ((kAlign - misalign) & (kAlign - 1));
}

// Orders this thread's earlier generic-proxy writes to shared memory (st.shared, cp.async) before
// later async-proxy reads (wgmma operands).
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Before the first wgmma of a batch: orders prior register and shared-memory accesses.
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

// Waits until at most kPending of the warpgroup's committed wgmma batches are in flight.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

// Keeps the compiler from moving accesses of accumulator registers across wgmma fences and waits.
template <int kRegs>
__device__ __forceinline__ void wgmma_fence_operands(float (&d)[kRegs]) {
#pragma unroll
  for (int i = 0; i < kRegs; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// D (64 x N, f32) += A (64 x 16, descriptor) * B (16 x N, descriptor, stored N x 16 K-major).
// Register d[4 * j + 2 * h + c] of thread t (warp w = t / 32 of the warpgroup, lane l) holds row
// 16 * w + l / 4 + 8 * h, column 8 * j + 2 * (l % 4) + c: the m16n8 accumulator layout of
// mma.sync repeated over N / 8 column blocks, one 16-row block per warp.
template <class T, int N>
struct Wgmma;

// The descriptor operands of the m64nNk16 shapes, after the accumulators (tc/wgmma_operands.cuh).
#define MOEJIT_WGMMA_DESCS_64 "%32, %33"
#define MOEJIT_WGMMA_DESCS_128 "%64, %65"
#define MOEJIT_WGMMA_DESCS_256 "%128, %129"

#define MOEJIT_WGMMA(T, PTX_TYPE, N)                                                          \
  template <>                                                                                 \
  struct Wgmma<T, N> {                                                                        \
    static __device__ __forceinline__ void run(float (&d)[N / 2], unsigned long long desc_a,  \
                                               unsigned long long desc_b) {                   \
      asm volatile(                                                                           \
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"                                          \
          "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTX_TYPE "." PTX_TYPE             \
          " {" MOEJIT_WGMMA_ACC_REGS_##N "}, " MOEJIT_WGMMA_DESCS_##N ", p, 1, 1, 0, 0;\n}\n" \
          : MOEJIT_WGMMA_ACC_OUTS_##N                                                         \
          : "l"(desc_a), "l"(desc_b));                                                        \
    }                                                                                         \
  };

MOEJIT_WGMMA(__half, "f16", 64)
MOEJIT_WGMMA(__nv_bfloat16, "bf16", 64)
MOEJIT_WGMMA(__half, "f16", 128)
MOEJIT_WGMMA(__nv_bfloat16, "bf16", 128)
MOEJIT_WGMMA(__half, "f16", 256)
MOEJIT_WGMMA(__nv_bfloat16, "bf16", 256)

#undef MOEJIT_WGMMA
#undef MOEJIT_WGMMA_DESCS_64
#undef MOEJIT_WGMMA_DESCS_128
#undef MOEJIT_WGMMA_DESCS_256

// The warpgroup of this thread (threadIdx.x / 128), taken from lane 0 so that the compiler knows
// it is the same in every lane: the descriptors built from it then stay in uniform registers,
// where wgmma takes them, instead of being moved there before every wgmma.
__device__ __forceinline__ int warpgroup_index() {
  return __shfl_sync(0xFFFFFFFFu, static_cast<int>(threadIdx.x >> 7), 0);
}

// One K step of kBK elements (a multiple of 64) for one warpgroup: kBK / 16 wgmmas on 128-byte
// swizzled tiles (tc::swizzled_offset layout) of kRowsA rows (A) and kRowsB rows (B). desc_a and
// desc_b are the descriptors (smem_desc_sw128) of the warpgroup's first row of A and of B in the
// step's tiles, rows that are multiples of 8. The caller fences before and commits after.
template <class T, int N, int kBK, int kRowsA, int kRowsB>
__device__ __forceinline__ void warpgroup_k_step(float (&d)[N / 2], unsigned long long desc_a,
                                                 unsigned long long desc_b) {
  static_assert(kBK % 64 == 0, "K steps are whole 64-element swizzle panels");
#pragma unroll
  for (int panel = 0; panel < kBK / 64; ++panel)
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)  // 16 elements = 32 bytes = 2 descriptor units
      Wgmma<T, N>::run(d, desc_a + smem_desc_units(panel * kRowsA * 64 * 2) + 2 * kk,
                       desc_b + smem_desc_units(panel * kRowsB * 64 * 2) + 2 * kk);
}

}  // namespace tc
}  // namespace moejit
