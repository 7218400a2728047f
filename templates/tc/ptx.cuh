// PTX building blocks of the tensor-core kernels: asynchronous 16-byte global->shared copies,
// ldmatrix fragment loads and the m16n8k16 MMA with f32 accumulation (sm_80+).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace moejit {
namespace tc {

// Shared-memory address of a generic pointer into shared memory, as the 32-bit operand of PTX.
__device__ __forceinline__ unsigned smem_address(const void* ptr) {
  return static_cast<unsigned>(__cvta_generic_to_shared(ptr));
}

// Copies src_bytes (0..16) bytes from global src to shared dst and zero-fills the rest of the 16
// bytes. dst and src must be 16-byte aligned; with src_bytes == 0 nothing is read from src.
// kPrefetch (0, 128 or 256): also asks L2 to fetch the whole aligned kPrefetch-byte segment around
// src (fewer, larger DRAM requests for rows that later copies read on; a hint within the page of
// src, which cannot fault).
template <int kPrefetch = 0>
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
  static_assert(kPrefetch == 0 || kPrefetch == 128 || kPrefetch == 256, "0, 128 or 256 bytes");
  if constexpr (kPrefetch == 256)
    asm volatile(
        "cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;\n" ::"r"(smem_address(dst)),
        "l"(src), "r"(src_bytes)
        : "memory");
  else if constexpr (kPrefetch == 128)
    asm volatile(
        "cp.async.cg.shared.global.L2::128B [%0], [%1], 16, %2;\n" ::"r"(smem_address(dst)),
        "l"(src), "r"(src_bytes)
        : "memory");
  else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address(dst)),
                 "l"(src), "r"(src_bytes)
                 : "memory");
}

// cp_async16 of all 16 bytes: no source size, so no zero-fill (and none of the address arithmetic
// the zero-filling form compiles to).
template <int kPrefetch = 0>
__device__ __forceinline__ void cp_async16_full(void* dst, const void* src) {
  static_assert(kPrefetch == 0 || kPrefetch == 128 || kPrefetch == 256, "0, 128 or 256 bytes");
  if constexpr (kPrefetch == 256)
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16;\n" ::"r"(smem_address(dst)),
                 "l"(src)
                 : "memory");
  else if constexpr (kPrefetch == 128)
    asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16;\n" ::"r"(smem_address(dst)),
                 "l"(src)
                 : "memory");
  else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_address(dst)), "l"(src)
                 : "memory");
}

__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most kPending of this thread's committed copy groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Four 8x8 b16 matrices; lanes 8j..8j+7 give the row addresses of matrix j, register j receives
// row lane/4, columns 2*(lane%4) and 2*(lane%4)+1 of matrix j.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row_address)));
}

// D = A * B + D for one 16x8x16 step: A row-major 16x16, B column-major 16x8, D 16x8 f32.
template <class T>
struct Mma16816;

template <>
struct Mma16816<__half> {
  static __device__ __forceinline__ void run(float (&d)[4], const unsigned (&a)[4],
                                             const unsigned (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
        "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

template <>
struct Mma16816<__nv_bfloat16> {
  static __device__ __forceinline__ void run(float (&d)[4], const unsigned (&a)[4],
                                             const unsigned (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
        "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

// Element conversions with round-to-nearest-even, packed in pairs (low half = first value).
template <class T>
struct Convert;

template <>
struct Convert<__half> {
  static __device__ __forceinline__ __half from_float(float x) { return __float2half_rn(x); }
  static __device__ __forceinline__ unsigned pack2(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const unsigned*>(&h);
  }
};

template <>
struct Convert<__nv_bfloat16> {
  static __device__ __forceinline__ __nv_bfloat16 from_float(float x) {
    return __float2bfloat16_rn(x);
  }
  static __device__ __forceinline__ unsigned pack2(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const unsigned*>(&h);
  }
};

}  // namespace tc
}  // namespace moejit
