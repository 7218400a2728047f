// Warpgroup MMA with the A operand in registers (sm_90a): wgmma.mma_async m64nNk16 with f32
// accumulation, A (64 x 16, f16 or bf16) held as four 32-bit registers per thread in the mma.sync
// m16n8k16 A layout (warp w of the warpgroup holds rows 16w .. 16w + 15), B (16 x N) a K-major
// 128-byte-swizzled shared tile (tc::smem_desc_sw128), for N = 32 to 192 by 32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tc/wgmma_operands.cuh"

namespace moejit {
namespace tc {

// D (64 x N, f32) += A (registers a) * B (descriptor desc_b, stored N x 16 K-major). Register
// d[4 * j + 2 * h + c] of thread t (warp w of the warpgroup, lane l) holds row 16 * w + l / 4 +
// 8 * h, column 8 * j + 2 * (l % 4) + c. Register a[i] of lane l holds row l / 4 + 8 * (i % 2)
// of the warp's 16, elements 2 * (l % 4) + 8 * (i / 2) and the one after.
template <class T, int N>
struct WgmmaRegA;

// The A registers and B descriptor operands of the m64nNk16 shapes, after the accumulators
// (tc/wgmma_operands.cuh).
#define MOEJIT_WGMMA_RA_AB_32 "{%16, %17, %18, %19}, %20"
#define MOEJIT_WGMMA_RA_AB_64 "{%32, %33, %34, %35}, %36"
#define MOEJIT_WGMMA_RA_AB_96 "{%48, %49, %50, %51}, %52"
#define MOEJIT_WGMMA_RA_AB_128 "{%64, %65, %66, %67}, %68"
#define MOEJIT_WGMMA_RA_AB_160 "{%80, %81, %82, %83}, %84"
#define MOEJIT_WGMMA_RA_AB_192 "{%96, %97, %98, %99}, %100"

#define MOEJIT_WGMMA_RA(T, PTX_TYPE, N)                                                    \
  template <>                                                                              \
  struct WgmmaRegA<T, N> {                                                                 \
    static __device__ __forceinline__ void run(float (&d)[N / 2], const unsigned (&a)[4],  \
                                               unsigned long long desc_b) {                \
      asm volatile(                                                                        \
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"                                       \
          "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTX_TYPE "." PTX_TYPE          \
          " {" MOEJIT_WGMMA_ACC_REGS_##N "}, " MOEJIT_WGMMA_RA_AB_##N ", p, 1, 1, 0;\n}\n" \
          : MOEJIT_WGMMA_ACC_OUTS_##N                                                      \
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b));                      \
    }                                                                                      \
  };

MOEJIT_WGMMA_RA(__half, "f16", 32)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 32)
MOEJIT_WGMMA_RA(__half, "f16", 64)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 64)
MOEJIT_WGMMA_RA(__half, "f16", 96)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 96)
MOEJIT_WGMMA_RA(__half, "f16", 128)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 128)
MOEJIT_WGMMA_RA(__half, "f16", 160)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 160)
MOEJIT_WGMMA_RA(__half, "f16", 192)
MOEJIT_WGMMA_RA(__nv_bfloat16, "bf16", 192)

#undef MOEJIT_WGMMA_RA
#undef MOEJIT_WGMMA_RA_AB_32
#undef MOEJIT_WGMMA_RA_AB_64
#undef MOEJIT_WGMMA_RA_AB_96
#undef MOEJIT_WGMMA_RA_AB_128
#undef MOEJIT_WGMMA_RA_AB_160
#undef MOEJIT_WGMMA_RA_AB_192

// Keeps the compiler from reusing or moving the A registers of an issued wgmma before the wait
// that retires it.
__device__ __forceinline__ void wgmma_fence_fragment(unsigned (&a)[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) asm volatile("" : "+r"(a[i])::"memory");
}

}  // namespace tc
}  // namespace moejit
