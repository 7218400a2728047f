// Segment boundaries of the sorted expert ids for the tensor-core kernels, without atomics and
// without a single-block scan, for any number of experts and entries.
#pragma once

#include "grid_dependency.cuh"
#include "moe_params.cuh"

namespace moejit {

// offsets[e] = the first entry i in [0, size_m) with expert_ids[i] >= e (size_m when there is
// none), for e in [0, E]. Entries with an id below 0 therefore come before offsets[0] and entries
// with an id >= E after offsets[E]; segment e is [offsets[e], offsets[e + 1]).
//
// Threads: one per boundary i in [0, size_m] (grid-stride, any grid). With lo = expert_ids[i - 1]
// (below every e when i = 0) and hi = expert_ids[i] (above every e when i = size_m), thread i
// writes offsets[e] = i for each e in [0, E] with lo < e <= hi. For sorted ids that is exactly the
// e whose first entry is i, so every offset is written once, after one coalesced read of the ids
// (no dependent reads, unlike a binary search per expert), and size_m = 0 gives all zeros.
// Unsorted ids: every e still gets at least one write (the sequence "id >= e" goes from false
// before entry 0 to true after entry size_m - 1, and the thread of a false-to-true step writes
// e), each the index of such a step, so offsets stay in [0, size_m]; reads stay in bounds.
// Launch: codegen/wmma_template.cpp (ceil((size_m + 1) / 256) blocks of 256 threads, capped; no
// shared memory). Once the stream's previous kernel has completed it lets the main kernel launch
// (grid_dependency.cuh); that kernel waits for it before reading the offsets.
__global__ void expert_offsets_kernel(MoeParams p) {
  grid_dependency_wait();
  grid_dependency_launch_dependents();
  const long long m = p.size_m > 0 ? p.size_m : 0;
  const int experts = p.num_experts;
  const int* ids = p.expert_ids;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i <= m;
       i += stride) {
    // First and last expert this boundary opens, clamped to [0, E] (64-bit: ids may be extreme).
    const long long first = i > 0 ? static_cast<long long>(ids[i - 1]) + 1 : 0;
    const long long last = i < m ? static_cast<long long>(ids[i]) : experts;
    const long long e_end = last < experts ? last : experts;
    for (long long e = first > 0 ? first : 0; e <= e_end; ++e)
      p.expert_offsets[e] = static_cast<int>(i);
  }
}

}  // namespace moejit
