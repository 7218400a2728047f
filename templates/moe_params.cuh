// MoeParams: the one trivially copyable argument block of every moejit kernel. Host code (g++)
// and device code (NVRTC) both include this file; the generated translation unit static_asserts
// its size against the value the host was built with.
#pragma once

namespace moejit {

// Pair-index convention (docs/semantics.md): entry i of the routed list has pair id
// p = sorted_ids[i] in [0, num_pairs) and expert e = expert_ids[i]. Output row p (num_pairs rows of
// size_n) is written exactly once. The input row is p when topk_weights is non-null, else
// p / top_k. Entries whose expert id is outside [0, num_experts) or whose pair id is outside
// [0, num_pairs) are skipped and their output rows left untouched.
struct MoeParams {
  const void* activations;    // [input_rows, size_k]: f32 (ScalarGguf) or the element type
  const void* weights;        // [E, size_n, size_k]: element type, or GGUF blocks [E, N, K/qk]
  const int* sorted_ids;      // [size_m] pair ids
  const int* expert_ids;      // [size_m] expert of each entry (sorted ascending for Wmma variants)
  const float* topk_weights;  // [num_pairs] or null
  void* output;               // [num_pairs, size_n]: f32 (ScalarGguf, WmmaGguf) or element type
  int* expert_offsets;        // workspace [E + 1]: segment e = entries [off[e], off[e+1])
  void* act_q8;               // workspace: q8_1 blocks [input_rows, size_k / 32] (ScalarGguf)
  long long weight_expert_stride;  // bytes from one expert's weights to the next
  long long weight_row_stride;     // bytes from one output row (n) of an expert to the next
  int num_experts;
  int top_k;
  int num_pairs;   // P = num_tokens * top_k
  int input_rows;  // rows of activations: P with topk_weights, else num_tokens
  int size_m;      // entries in sorted_ids / expert_ids
  int size_n;      // N, output width per expert (d_expert)
  int size_k;      // K, input width (d_model)
  int pad_;
};

}  // namespace moejit
