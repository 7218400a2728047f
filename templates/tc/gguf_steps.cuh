// The weight side of the GGUF tensor-core kernels (wmma_gguf.cuh, wgmma_gguf.cuh,
// scalar_gguf_mma.cuh): per K step of BK elements, the raw block bytes of the CTA's BN weight rows
// are copied into a slot of a ring of kRawSlots staging slots (tc::GgufRawSteps, through
// tc::RawRowLoader); tc::GgufWeightSteps dequantizes a staged step, exactly, into 8-element groups
// of T (scalar_gguf_mma.cuh decodes it into int8 codes instead). With BK < qk, the P = qk / BK
// steps that share a block stage it once, at the first of them (else P = 1, one slot per step).
// Slot reuse: the kernels issue the copies of step kt + kStages - 1 after the barrier that follows
// the dequantization of step kt, so at that point the live steps are kt + 1 .. kt + kStages - 1,
// spanning at most (kStages - 3) / P + 2 blocks: block b's slot (b modulo kRawSlots) is refilled,
// for block b + kRawSlots, only after its last step has been dequantized.
// kBulk (sm_90, wgmma_gguf.cuh): each row of a step is one bulk copy (tc::BulkRawRowLoader); slot
// s has an mbarrier at bars + 8 * s (kRawSlots of them, initialized by init_barriers) whose phase
// completes when the slot's bytes have landed, and a thread calls wait(kt) before it reads step kt.
// The bulk copy engine takes about as long for a small copy as for a large one, so this pays only
// where each thread would otherwise issue many 16-byte copies per staged step (kChunkCopies).
#pragma once

#include "formats/dequant.cuh"
#include "moe_params.cuh"
#include "tc/bulk_copy.cuh"
#include "tc/ptx.cuh"
#include "tc/tile_loader.cuh"

namespace moejit {
namespace tc {

template <bool kBulk, class Bulk, class Chunked>
struct PickLoader {
  using type = Chunked;
};
template <class Bulk, class Chunked>
struct PickLoader<true, Bulk, Chunked> {
  using type = Bulk;
};

template <class Fmt, int BN, int BK, int kThreads, int kStages, bool kBulk = false>
struct GgufRawSteps {
  static constexpr int kQk = Fmt::kBlockElems;
  // A step covers max(1, BK / qk) whole blocks per row; with BK < qk, the block holding its
  // BK elements, shared by kStepsPerBlock steps.
  static constexpr int kBlocksPerStep = BK >= kQk ? BK / kQk : 1;
  static constexpr int kStepsPerBlock = BK >= kQk ? 1 : kQk / BK;
  static constexpr int kRawSlots = (kStages - 3) / kStepsPerBlock + 2;
  static constexpr int kStepBytes = kBlocksPerStep * Fmt::kBlockBytes;
  // 16-byte chunks covering kStepBytes bytes that start at any even offset inside a chunk.
  static constexpr int kRawChunks = (kStepBytes + 30) / 16;
  static constexpr int kRawRowBytes = kRawChunks * 16;
  static constexpr int kStageBytes = BN * kRawRowBytes;
  static constexpr int kRingBytes = kRawSlots * kStageBytes;
  // 16-byte copies per thread of one staged step without kBulk.
  static constexpr int kChunkCopies = (BN * kRawChunks + kThreads - 1) / kThreads;

  typename PickLoader<kBulk, BulkRawRowLoader<BN, kRawChunks, kThreads>,
                      RawRowLoader<BN, kRawChunks, kThreads>>::type loader;
  unsigned bars;                   // kBulk: shared address of slot 0's mbarrier
  unsigned expert_w_low;           // the expert's weight address modulo 2^32
  unsigned row_stride_low;         // weight_row_stride modulo 2^32
  unsigned long long weights_end;  // one past the last byte of the last row of the last expert
  int k_blocks;                    // blocks per weight row
  int n0, size_n, size_k;
  bool rows_aligned;  // every weight row of the expert starts at a multiple of 16 bytes

  // bars_: kBulk only, the shared address of 8 * kRawSlots bytes (8-byte aligned) for the
  // mbarriers.
  __device__ __forceinline__ void init(const MoeParams& p, const unsigned char* expert_w, int n0_,
                                       int size_n_, int size_k_, int tid, unsigned bars_ = 0u) {
    bars = bars_;
    n0 = n0_;
    size_n = size_n_;
    size_k = size_k_;
    k_blocks = size_k / kQk;
    weights_end = reinterpret_cast<unsigned long long>(p.weights) +
                  static_cast<unsigned long long>(p.num_experts - 1) * p.weight_expert_stride +
                  static_cast<unsigned long long>(size_n - 1) * p.weight_row_stride +
                  static_cast<unsigned long long>(k_blocks) * Fmt::kBlockBytes;
    expert_w_low = static_cast<unsigned>(reinterpret_cast<unsigned long long>(expert_w));
    row_stride_low = static_cast<unsigned>(p.weight_row_stride);
    rows_aligned = ((expert_w_low | row_stride_low) & 15u) == 0;
    loader.init(
        tid, [&](int r) { return weight_row<unsigned char>(p, expert_w, n0 + r, size_n); },
        static_cast<long long>(k_blocks) * Fmt::kBlockBytes, weights_end);
  }

  // Step kt covers elements [kt*BK, kt*BK + BK): blocks from first_block(kt), of which
  // valid_blocks(kt) lie inside the row (fewer only in a last partial step when BK > qk).
  static __device__ __forceinline__ int first_block(int kt) {
    return BK >= kQk ? kt * (BK / kQk)
                     : static_cast<int>(static_cast<unsigned>(kt) / kStepsPerBlock);
  }
  __device__ __forceinline__ int valid_blocks(int kt) const {
    const int left = k_blocks - first_block(kt);
    return left < kBlocksPerStep ? left : kBlocksPerStep;
  }

  // The ring slot that holds step kt's blocks.
  static __device__ __forceinline__ int slot(int kt) {
    return static_cast<int>(static_cast<unsigned>(kt) / kStepsPerBlock) % kRawSlots;
  }

  // kBulk: one thread initializes the slots' mbarriers; the kernel then calls
  // mbarrier_init_fence() and a barrier before the first load.
  __device__ __forceinline__ void init_barriers(int tid) const {
    if (kBulk && tid == 0)
#pragma unroll
      for (int s = 0; s < kRawSlots; ++s)
        mbarrier_init(bars + 8 * s, BulkRawRowLoader<BN, kRawChunks, kThreads>::kIssuers);
  }

  // Issues the copies of step kt's blocks into their slot of `ring` (kRingBytes),
  // unless an earlier step staged them.
  __device__ __forceinline__ void load(unsigned char* ring, int kt) const {
    if (kStepsPerBlock > 1 && kt % kStepsPerBlock != 0) return;
    if constexpr (kBulk) {
      loader.load(ring + slot(kt) * kStageBytes, first_block(kt) * Fmt::kBlockBytes,
                  valid_blocks(kt) * Fmt::kBlockBytes, weights_end, bars + 8 * slot(kt));
    } else {
      loader.load(ring + slot(kt) * kStageBytes, first_block(kt) * Fmt::kBlockBytes,
                  valid_blocks(kt) * Fmt::kBlockBytes, weights_end, rows_aligned);
    }
  }

  // kBulk: waits until step kt's blocks have landed in their slot (the use of the slot by block
  // b = kt / kStepsPerBlock is its phase b / kRawSlots). Without kBulk the kernel's cp.async
  // waits and barrier do this.
  __device__ __forceinline__ void wait(int kt) const {
    if constexpr (kBulk) {
      const unsigned b = static_cast<unsigned>(kt) / kStepsPerBlock;
      mbarrier_wait_parity(bars + 8 * (b % kRawSlots), (b / kRawSlots) & 1u);
    }
  }

  // Where row r of step kt's staged blocks starts in `ring`: the row's address modulo 16 plus the
  // step's first byte (rows past size_n hold no data).
  __device__ __forceinline__ const unsigned char* staged_row(const unsigned char* ring, int kt,
                                                             int r) const {
    const int step_misalign =
        static_cast<int>((static_cast<unsigned>(first_block(kt)) * Fmt::kBlockBytes) & 15u);
    const int row_misalign =
        static_cast<int>((expert_w_low + static_cast<unsigned>(n0 + r) * row_stride_low) & 15u);
    return ring + slot(kt) * kStageBytes + r * kRawRowBytes + ((row_misalign + step_misalign) & 15);
  }
};

// Groups per dequantization task: `wanted`, halved until a row's `groups` split into whole tasks
// and the `rows` * tasks per row split evenly over `threads`. When not even single groups split
// evenly (12 warps on 128 rows), the largest tasks that divide a row: some threads then have one
// task fewer whatever the size, and larger tasks decode fewer headers (q4_K on mixtral-8x7b at
// 512 tokens, 192x128x64:w12: 523 us with single groups, 477 with tasks of four).
constexpr int task_groups(int wanted, int groups, int rows, int threads) {
  for (int t = wanted; t > 1; t /= 2)
    if (groups % t == 0 && (rows * (groups / t)) % threads == 0) return t;
  if ((rows * groups) % threads != 0)
    for (int t = wanted; t > 1; t /= 2)
      if (groups % t == 0) return t;
  return 1;
}

// kWantedGroups: the groups per task the kernel asks for (Fmt::kTaskGroups or kMmaTaskGroups);
// kStoreBatchWanted: the tasks a thread dequantizes before it stores them (Fmt::kStoreBatch, or 1).
template <class Fmt, int BN, int BK, int kThreads, int kStages, bool kBulk = false,
          int kWantedGroups = Fmt::kTaskGroups, int kStoreBatchWanted = 1>
struct GgufWeightSteps : GgufRawSteps<Fmt, BN, BK, kThreads, kStages, kBulk> {
  using Raw = GgufRawSteps<Fmt, BN, BK, kThreads, kStages, kBulk>;
  using Raw::expert_w_low;
  using Raw::first_block;
  using Raw::kQk;
  using Raw::kRawRowBytes;
  using Raw::kStageBytes;
  using Raw::kStepsPerBlock;
  using Raw::n0;
  using Raw::row_stride_low;
  using Raw::rows_aligned;
  using Raw::size_k;
  using Raw::size_n;
  using Raw::slot;
  static constexpr int kGroups = BK / 8;  // 8-element dequantization groups per row and step
  // Groups per task: kWantedGroups (more than one for formats whose groups share a costly header
  // decode, which Fmt::dequantize_groups does once per task), halved until the tasks split evenly
  // over the threads.
  static constexpr int kTaskGroups = task_groups(kWantedGroups, kGroups, BN, kThreads);
  static_assert(kTaskGroups == 1 || kTaskGroups == 2 || kTaskGroups == 4,
                "a task's groups lie in one 32-element sub-block");
  static constexpr int kRowTasks = kGroups / kTaskGroups;  // tasks per row and step
  static constexpr int kTasks = BN * kRowTasks;
  static constexpr int kTaskIters = (kTasks + kThreads - 1) / kThreads;
  // Tasks dequantized, kept in registers, then stored (the last batch may be partial).
  static constexpr int kStoreBatch =
      kTaskIters < kStoreBatchWanted ? kTaskIters : kStoreBatchWanted;
  static_assert(kStoreBatch >= 1, "at least one task per batch");

  // Dequantizes step kt, staged in `ring`: for each of this thread's tasks c (row c / kRowTasks,
  // groups (c % kRowTasks) * kTaskGroups + u), calls store(row, group, packed) with each group's 8
  // values rounded to T and packed in a uint4 (zeros past N and past K). A step whose rows and
  // columns all lie inside the matrix, with 16-byte aligned rows (the usual case), runs without
  // per-task checks.
  template <class T, class Store>
  __device__ __forceinline__ void dequantize(const unsigned char* ring, int kt, int tid,
                                             Store store) const {
    const bool interior = rows_aligned && n0 + BN <= size_n && (kt + 1) * BK <= size_k;
    if (interior) {
      dequantize_tasks<false, T>(ring, kt, tid, store);
    } else {
      dequantize_tasks<true, T>(ring, kt, tid, store);
    }
  }

 private:
  template <bool kChecked, class T, class Store>
  __device__ __forceinline__ void dequantize_tasks(const unsigned char* ring, int kt, int tid,
                                                   Store store) const {
    const unsigned char* staged = ring + slot(kt) * kStageBytes;
    const int k0 = kt * BK;
    const int step_misalign =
        static_cast<int>((static_cast<unsigned>(first_block(kt)) * Fmt::kBlockBytes) & 15u);
    // The step's first element inside its block: nonzero only when BK < qk.
    const int elem_offset =
        BK >= kQk ? 0 : static_cast<int>(static_cast<unsigned>(kt) % kStepsPerBlock) * BK;
    // With kThreads a multiple of kRowTasks (the usual case) a thread's tasks all have the same
    // groups, and their rows are kThreads / kRowTasks apart: the row offsets become constants and
    // the group's block and element offsets are worked out once per step.
    constexpr bool kSameGroups = kThreads % kRowTasks == 0;
    const int thread_row = tid / kRowTasks;
    const int thread_g0 = (tid % kRowTasks) * kTaskGroups;
    // Tasks are dequantized kStoreBatch at a time, and then stored: the compiler keeps shared loads
    // after earlier shared stores, so this lets the loads of a batch's tasks overlap. Four tasks
    // per unrolled loop body with single-task batches, eight with larger ones.
    constexpr int kUnroll = kStoreBatch == 1 ? 4 : 2;
#pragma unroll kUnroll
    for (int it0 = 0; it0 < kTaskIters; it0 += kStoreBatch) {
      uint4 packed[kStoreBatch][kTaskGroups];
      int rows[kStoreBatch], groups[kStoreBatch];
#pragma unroll
      for (int b = 0; b < kStoreBatch; ++b) {
        const int it = it0 + b;
        const int c = tid + it * kThreads;
        const int r = kSameGroups ? thread_row + it * (kThreads / kRowTasks) : c / kRowTasks;
        const int g0 = kSameGroups ? thread_g0 : (c % kRowTasks) * kTaskGroups;
        rows[b] = r;
        groups[b] = g0;
#pragma unroll
        for (int u = 0; u < kTaskGroups; ++u) packed[b][u] = make_uint4(0u, 0u, 0u, 0u);
        if (it >= kTaskIters || (kTasks % kThreads != 0 && c >= kTasks)) continue;
        // Row n's staged bytes start at its address modulo 16 plus the step's first byte.
        const int row_misalign =
            kChecked ? static_cast<int>(
                           (expert_w_low + static_cast<unsigned>(n0 + r) * row_stride_low) & 15u)
                     : 0;
        const unsigned char* row =
            staged + r * kRawRowBytes + ((row_misalign + step_misalign) & 15);
        // The task's groups lie in one 32-element sub-block and K is whole blocks, so they are
        // inside K or past it together.
        if (!kChecked || (n0 + r < size_n && k0 + g0 * 8 < size_k)) {
          // Element e_off of the step's blocks: block e_off / qk (0 when BK <= qk), element
          // e_off % qk of it.
          const unsigned e_off = static_cast<unsigned>(elem_offset + g0 * 8);
          const int block_in_step = BK > kQk ? static_cast<int>(e_off / kQk) : 0;
          const int j0 = BK > kQk ? static_cast<int>(e_off % kQk) : static_cast<int>(e_off);
          // The staging rows start at multiples of 16 bytes of a 16-byte-aligned ring.
          const int block_off =
              ((row_misalign + step_misalign) & 15) + block_in_step * Fmt::kBlockBytes;
          float y[kTaskGroups][8];
          Fmt::template dequantize_groups<kTaskGroups>(
              fmt::detail::Staged{row + block_in_step * Fmt::kBlockBytes,
                                  static_cast<unsigned>(block_off) & 3u},
              j0, y);
#pragma unroll
          for (int u = 0; u < kTaskGroups; ++u) {
            packed[b][u].x = Convert<T>::pack2(y[u][0], y[u][1]);
            packed[b][u].y = Convert<T>::pack2(y[u][2], y[u][3]);
            packed[b][u].z = Convert<T>::pack2(y[u][4], y[u][5]);
            packed[b][u].w = Convert<T>::pack2(y[u][6], y[u][7]);
          }
        }
      }
#pragma unroll
      for (int b = 0; b < kStoreBatch; ++b) {
        const int it = it0 + b;
        if (it >= kTaskIters || (kTasks % kThreads != 0 && tid + it * kThreads >= kTasks)) continue;
#pragma unroll
        for (int u = 0; u < kTaskGroups; ++u) store(rows[b], groups[b] + u, packed[b][u]);
      }
    }
  }
};

}  // namespace tc
}  // namespace moejit
