// Warpgroup MMA with the A operand in registers (sm_90a): wgmma.mma_async m64nNk16 with f32
// accumulation, A (64 x 16, f16 or bf16) held as four 32-bit registers per thread in the mma.sync
// m16n8k16 A layout (warp w of the warpgroup holds rows 16w .. 16w + 15), B (16 x N) a K-major
// 128-byte-swizzled shared tile (tc::smem_desc_sw128), for N = 32 to 192 by 32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace moejit {
namespace tc {

// D (64 x N, f32) += A (registers a) * B (descriptor desc_b, stored N x 16 K-major). Register
// d[4 * j + 2 * h + c] of thread t (warp w of the warpgroup, lane l) holds row 16 * w + l / 4 +
// 8 * h, column 8 * j + 2 * (l % 4) + c. Register a[i] of lane l holds row l / 4 + 8 * (i % 2)
// of the warp's 16, elements 2 * (l % 4) + 8 * (i / 2) and the one after.
template <class T, int N>
struct WgmmaRegA;

#define MOEJIT_WGMMA_RA_D8(b)                                                                 \
  "+f"(d[b]), "+f"(d[b + 1]), "+f"(d[b + 2]), "+f"(d[b + 3]), "+f"(d[b + 4]), "+f"(d[b + 5]), \
      "+f"(d[b + 6]), "+f"(d[b + 7])
#define MOEJIT_WGMMA_RA_REGS_32 \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define MOEJIT_WGMMA_RA_OUTS_32 MOEJIT_WGMMA_RA_D8(0), MOEJIT_WGMMA_RA_D8(8)
#define MOEJIT_WGMMA_RA_AB_32 "{%16, %17, %18, %19}, %20"
#define MOEJIT_WGMMA_RA_REGS_64                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define MOEJIT_WGMMA_RA_OUTS_64 \
  MOEJIT_WGMMA_RA_D8(0), MOEJIT_WGMMA_RA_D8(8), MOEJIT_WGMMA_RA_D8(16), MOEJIT_WGMMA_RA_D8(24)
#define MOEJIT_WGMMA_RA_AB_64 "{%32, %33, %34, %35}, %36"
#define MOEJIT_WGMMA_RA_REGS_96                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, " \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47"
#define MOEJIT_WGMMA_RA_OUTS_96                                                                 \
  MOEJIT_WGMMA_RA_D8(0), MOEJIT_WGMMA_RA_D8(8), MOEJIT_WGMMA_RA_D8(16), MOEJIT_WGMMA_RA_D8(24), \
      MOEJIT_WGMMA_RA_D8(32), MOEJIT_WGMMA_RA_D8(40)
#define MOEJIT_WGMMA_RA_AB_96 "{%48, %49, %50, %51}, %52"
#define MOEJIT_WGMMA_RA_REGS_128                                                               \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, " \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, " \
  "%56, %57, %58, %59, %60, %61, %62, %63"
#define MOEJIT_WGMMA_RA_OUTS_128                                                                \
  MOEJIT_WGMMA_RA_D8(0), MOEJIT_WGMMA_RA_D8(8), MOEJIT_WGMMA_RA_D8(16), MOEJIT_WGMMA_RA_D8(24), \
      MOEJIT_WGMMA_RA_D8(32), MOEJIT_WGMMA_RA_D8(40), MOEJIT_WGMMA_RA_D8(48),                   \
      MOEJIT_WGMMA_RA_D8(56)
#define MOEJIT_WGMMA_RA_AB_128 "{%64, %65, %66, %67}, %68"

// The wider shapes extend the narrower ones' operand lists.
#define MOEJIT_WGMMA_RA_REGS_160 \
  MOEJIT_WGMMA_RA_REGS_128       \
  ", %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79"
#define MOEJIT_WGMMA_RA_OUTS_160 \
  MOEJIT_WGMMA_RA_OUTS_128, MOEJIT_WGMMA_RA_D8(64), MOEJIT_WGMMA_RA_D8(72)
#define MOEJIT_WGMMA_RA_AB_160 "{%80, %81, %82, %83}, %84"
#define MOEJIT_WGMMA_RA_REGS_192 \
  MOEJIT_WGMMA_RA_REGS_160       \
  ", %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define MOEJIT_WGMMA_RA_OUTS_192 \
  MOEJIT_WGMMA_RA_OUTS_160, MOEJIT_WGMMA_RA_D8(80), MOEJIT_WGMMA_RA_D8(88)
#define MOEJIT_WGMMA_RA_AB_192 "{%96, %97, %98, %99}, %100"

#define MOEJIT_WGMMA_RA(T, PTX_TYPE, N)                                                   \
  template <>                                                                             \
  struct WgmmaRegA<T, N> {                                                                \
    static __device__ __forceinline__ void run(float (&d)[N / 2], const unsigned (&a)[4], \
                                               unsigned long long desc_b) {               \
      asm volatile(                                                                       \
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"                                      \
          "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." PTX_TYPE "." PTX_TYPE         \
          " {" MOEJIT_WGMMA_RA_REGS_##N "}, " MOEJIT_WGMMA_RA_AB_##N ", p, 1, 1, 0;\n}\n" \
          : MOEJIT_WGMMA_RA_OUTS_##N                                                      \
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b));                     \
    }                                                                                     \
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
#undef MOEJIT_WGMMA_RA_REGS_32
#undef MOEJIT_WGMMA_RA_OUTS_32
#undef MOEJIT_WGMMA_RA_AB_32
#undef MOEJIT_WGMMA_RA_REGS_64
#undef MOEJIT_WGMMA_RA_OUTS_64
#undef MOEJIT_WGMMA_RA_AB_64
#undef MOEJIT_WGMMA_RA_REGS_96
#undef MOEJIT_WGMMA_RA_OUTS_96
#undef MOEJIT_WGMMA_RA_AB_96
#undef MOEJIT_WGMMA_RA_REGS_128
#undef MOEJIT_WGMMA_RA_OUTS_128
#undef MOEJIT_WGMMA_RA_AB_128
#undef MOEJIT_WGMMA_RA_REGS_160
#undef MOEJIT_WGMMA_RA_OUTS_160
#undef MOEJIT_WGMMA_RA_AB_160
#undef MOEJIT_WGMMA_RA_REGS_192
#undef MOEJIT_WGMMA_RA_OUTS_192
#undef MOEJIT_WGMMA_RA_AB_192
#undef MOEJIT_WGMMA_RA_D8

// Keeps the compiler from reusing or moving the A registers of an issued wgmma before the wait
// that retires it.
__device__ __forceinline__ void wgmma_fence_fragment(unsigned (&a)[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) asm volatile("" : "+r"(a[i])::"memory");
}

}  // namespace tc
}  // namespace moejit
