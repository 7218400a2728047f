// Hopper (sm_90) bulk copies: shared-memory mbarriers with transaction counts, and the raw GGUF
// row loader of the warpgroup kernels that copies each row's bytes of a K step with one
// cp.async.bulk (the bulk copy engine) instead of one 16-byte cp.async per chunk per thread.
#pragma once

#include "tc/ptx.cuh"

namespace moejit {
namespace tc {

// Initializes the mbarrier at shared address `bar` for `count` arrivals per phase. The kernel
// publishes it with mbarrier_init_fence() and a barrier before any thread or copy uses it.
__device__ __forceinline__ void mbarrier_init(unsigned bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}

__device__ __forceinline__ void mbarrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Arrives on `bar` (release) after adding tx_bytes to the bytes its current phase waits for.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(unsigned bar, unsigned tx_bytes) {
  asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar),
               "r"(tx_bytes)
               : "memory");
}

// Waits (acquire) until the phase of `bar` with the given parity has completed.
__device__ __forceinline__ void mbarrier_wait_parity(unsigned bar, unsigned parity) {
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "mbarrier_wait_parity_%=:\n"
      "mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra mbarrier_wait_parity_%=;\n"
      "}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}

// Copies `bytes` (a multiple of 16) from global src to shared dst (both 16-byte aligned) with the
// bulk copy engine; the copy's completion counts `bytes` off the current phase of mbarrier `bar`.
__device__ __forceinline__ void bulk_copy_g2s(unsigned dst, const void* src, unsigned bytes,
                                              unsigned bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::
          "r"(dst),
      "l"(src), "r"(bytes), "r"(bar)
      : "memory");
}

// The bulk-copy twin of RawRowLoader (tile_loader.cuh): same staging layout (row r of a stage at
// r * kChunksPerRow * 16, the row's bytes [s, s + len) from offset s & 15), same contract on
// `limit`, but each row is copied as one bulk copy of the 16-byte-aligned span around its bytes,
// and completion is tracked by an mbarrier instead of cp.async groups. Thread t (t < kIssuers)
// owns rows t, t + kThreads, ...; every step, each of the kIssuers threads arrives once on the
// stage's mbarrier (initialized for kIssuers arrivals) with the bytes of its copies. A row whose
// span would reach past `limit` (only rows that end within 16 bytes of it) is copied with 2-byte
// loads before the arrival instead, whose release publishes those stores. Null rows are skipped.
template <int kRows, int kChunksPerRow, int kThreads>
struct BulkRawRowLoader {
  static constexpr int kRowBytes = kChunksPerRow * 16;
  static constexpr int kIters = (kRows + kThreads - 1) / kThreads;
  static constexpr int kIssuers = kRows < kThreads ? kRows : kThreads;
  static_assert(kIters <= 32, "at most 32 rows per thread (one mask bit each)");

  const unsigned char* rows[kIters];  // the thread's rows, or nullptr
  unsigned near_end;                  // bit it: row it ends within 16 bytes of limit
  int tid;

  template <class RowAddress>
  __device__ __forceinline__ void init(int tid_, RowAddress row_address, long long row_bytes,
                                       unsigned long long limit) {
    tid = tid_;
    near_end = 0u;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int r = tid + it * kThreads;
      rows[it] = r < kRows ? row_address(r) : nullptr;
      if (rows[it] != nullptr &&
          reinterpret_cast<unsigned long long>(rows[it]) + row_bytes + 15 > limit)
        near_end |= 1u << it;
    }
  }

  // first_byte, len: as RawRowLoader::load; bar: the stage's mbarrier.
  __device__ __forceinline__ void load(unsigned char* stage, int first_byte, int len,
                                       unsigned long long limit, unsigned bar) const {
    if (tid >= kIssuers) return;
    unsigned tx = 0u;
    unsigned long long begin[kIters];
    unsigned span[kIters];
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      span[it] = 0u;
      if (rows[it] == nullptr) continue;
      const unsigned long long s = reinterpret_cast<unsigned long long>(rows[it]) + first_byte;
      begin[it] = s & ~15ull;
      const unsigned long long end = (s + static_cast<unsigned>(len) + 15ull) & ~15ull;
      unsigned char* d = stage + (tid + it * kThreads) * kRowBytes;
      if (((near_end >> it) & 1u) != 0u && end > limit) {
        for (unsigned long long b = begin[it]; b < s + static_cast<unsigned>(len); b += 2)
          *reinterpret_cast<unsigned short*>(d + (b - begin[it])) =
              *reinterpret_cast<const unsigned short*>(b);
        continue;
      }
      span[it] = static_cast<unsigned>(end - begin[it]);
      tx += span[it];
    }
    mbarrier_arrive_expect_tx(bar, tx);
#pragma unroll
    for (int it = 0; it < kIters; ++it)
      if (span[it] != 0u)
        bulk_copy_g2s(smem_address(stage + (tid + it * kThreads) * kRowBytes),
                      reinterpret_cast<const void*>(begin[it]), span[it], bar);
  }
};

}  // namespace tc
}  // namespace moejit
