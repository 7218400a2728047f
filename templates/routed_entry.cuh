// The routed entry of the ScalarGguf kernels (scalar_gguf.cuh, scalar_gguf_mma.cuh): which
// activation row and expert entry i of the routed list uses, or that it is skipped.
#pragma once

#include "moe_params.cuh"

namespace moejit {

// For entry i < size_m with expert e = expert_ids[i] in [0, num_experts) and pair id
// p = sorted_ids[i] in [0, num_pairs): sets row = topk_weights ? p : p / top_k and expert = e and
// returns true when that row is below input_rows; returns false (row and expert untouched) for an
// entry past size_m or one the kernels skip.
__device__ __forceinline__ bool routed_entry(const MoeParams& p, long long i, int& row,
                                             int& expert) {
  if (i >= p.size_m) return false;
  const int e = p.expert_ids[i];
  const int pr = p.sorted_ids[i];
  if (e < 0 || e >= p.num_experts || pr < 0 || pr >= p.num_pairs) return false;
  const int r = p.topk_weights != nullptr ? pr : pr / p.top_k;
  if (r >= p.input_rows) return false;
  row = r;
  expert = e;
  return true;
}

}  // namespace moejit
