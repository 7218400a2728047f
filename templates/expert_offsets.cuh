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
// Threads: one per e in [0, E] (grid-stride, any grid), each a binary search over expert_ids:
// log2(size_m) reads, no two threads write the same offset, and size_m = 0 gives all zeros.
// Precondition for meaningful segments: expert_ids sorted ascending. Unsorted ids still give
// offsets in [0, size_m] and only in-bounds reads.
// Launch: codegen/wmma_template.cpp (ceil((E + 1) / 256) blocks of 256 threads, no shared memory).
// It lets the main kernel launch at once (grid_dependency.cuh); that kernel waits for it before
// reading the offsets.
__global__ void expert_offsets_kernel(MoeParams p) {
  grid_dependency_launch_dependents();
  const int m = p.size_m > 0 ? p.size_m : 0;
  const long long experts = p.num_experts;
  const int* ids = p.expert_ids;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; e <= experts;
       e += stride) {
    int lo = 0;
    int hi = m;
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (ids[mid] < e)
        lo = mid + 1;
      else
        hi = mid;
    }
    p.expert_offsets[e] = lo;
  }
}

}  // namespace moejit
