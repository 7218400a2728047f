// CPU reference of the MoE expert GEMM (docs/semantics.md): the exact result of every variant as
// its definition rounds it, a double-precision evaluation of the same definition, and routing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "moejit/types.hpp"

namespace moejit::ref {

// Problem sizes. P = num_tokens * top_k pairs; output [P, n]; weights [num_experts, n, k].
struct MoeShape {
  int num_tokens = 0;
  int num_experts = 0;
  int top_k = 0;
  int n = 0;  // output width per expert (d_expert)
  int k = 0;  // input width (d_model)
  std::int64_t num_pairs() const { return static_cast<std::int64_t>(num_tokens) * top_k; }
};

// The per-entry arguments every variant shares. Entry i targets pair p = sorted_ids[i] (its
// output row) with expert e = expert_ids[i]. With topk_weights (length P, indexed by p) the input
// row is p and the row is scaled by topk_weights[p]; without, the input row is p / top_k and the
// scale is 1. Entries whose e is outside [0, E) or p outside [0, P) are skipped.
struct RoutedPairs {
  std::span<const std::int32_t> sorted_ids;
  std::span<const std::int32_t> expert_ids;
  std::optional<std::span<const float>> topk_weights;
};

// Entries sorted by expert: sorted_ids are pair ids, expert_ids ascending.
struct Routing {
  std::vector<std::int32_t> sorted_ids;
  std::vector<std::int32_t> expert_ids;
  RoutedPairs pairs(std::optional<std::span<const float>> topk_weights = std::nullopt) const {
    return {sorted_ids, expert_ids, topk_weights};
  }
};

// Flattens the router's topk_ids[T, top_k] (pair p = t * top_k + j) and sorts the pairs by
// expert, stably: within one expert, pairs stay in ascending order. Throws Error(InvalidProblem)
// if num_experts <= 0 or an id lies outside [0, num_experts).
Routing make_routing(std::span<const std::int32_t> topk_ids, int num_experts);

// The number of distinct experts a random routing of `tokens` tokens touches on average, each
// token picking top_k distinct experts of num_experts uniformly:
// E * (1 - (1 - top_k / E)^tokens).
double expected_touched_experts(int num_experts, int top_k, int tokens);

// Random router choices topk_ids[tokens, top_k] (each token top_k distinct experts, a partial
// Fisher-Yates shuffle of one expert list carried from token to token, std::mt19937) that touch
// round(expected_touched_experts) experts, the count the floors of a benchmark assume: the
// draw from `seed` if it does, else the closest of up to 1000 draws (seeds seed + i * 0x9E3779B9).
// The same arguments give the same ids on every platform. Sets *touched to the distinct experts
// of the result when given. Throws Error(InvalidProblem) unless 1 <= top_k <= num_experts and
// tokens >= 0.
std::vector<std::int32_t> typical_topk_ids(int num_experts, int top_k, int tokens,
                                           std::uint32_t seed, int* touched = nullptr);

// One problem as a variant consumes it, operands as host bytes:
// - ScalarGguf: element F32; activations f32 [R_in, K]; weights GGUF blocks [E, N, K / qk].
// - Wmma: element F16 or Bf16; activations and weights raw element bits, [R_in, K] and [E, N, K].
// - WmmaGguf: element F16 or Bf16; activations element bits [R_in, K]; weights GGUF blocks.
// R_in = P with topk_weights, else num_tokens. format is set exactly for the GGUF variants.
struct MoeProblem {
  MoeVariant variant = MoeVariant::Wmma;
  ElementKind element = ElementKind::F16;
  std::optional<GgufBlockFormat> format;
  MoeShape shape;
  std::span<const std::byte> activations;
  std::span<const std::byte> weights;
  RoutedPairs pairs;
};

// Typed constructors of MoeProblem (the spans are viewed, not copied).
MoeProblem scalar_gguf_problem(const MoeShape& shape, GgufBlockFormat format,
                               std::span<const float> activations,
                               std::span<const std::uint8_t> weights, const RoutedPairs& pairs);
MoeProblem wmma_problem(const MoeShape& shape, ElementKind element,
                        std::span<const std::uint16_t> activations,
                        std::span<const std::uint16_t> weights, const RoutedPairs& pairs);
MoeProblem wmma_gguf_problem(const MoeShape& shape, ElementKind element, GgufBlockFormat format,
                             std::span<const std::uint16_t> activations,
                             std::span<const std::uint8_t> weights, const RoutedPairs& pairs);

// Checks every size and field of a problem. Throws Error(InvalidProblem) naming the field: a
// negative or zero dimension, P beyond int32, a format missing, present or not a weight format,
// an element kind the variant does not take, K not a whole number of blocks, an operand or
// topk_weights of the wrong length, sorted_ids and expert_ids of different lengths, or one pair
// targeted by two valid entries (its row would be written twice).
void validate(const MoeProblem& problem);

// The exact result of the variant's definition, written into out ([P, N]: f32 for ScalarGguf and
// WmmaGguf, element bits for Wmma, as bytes). Rows no valid entry targets are left untouched.
// - ScalarGguf: activations quantized per 32 values with moejit::quantize_q8_1 (a = f32(d) * q);
//   weights dequantized exactly (moejit::dequantize); each 32-value dot product evaluated in
//   double (exact products) and rounded to f32 once; the blocks summed in f32 in ascending order;
//   times the top-k weight in f32.
// - Wmma: f32 products (exact), f32 sum in a fixed order, times the weight in f32, rounded once to
//   the element type (round to nearest even).
// - WmmaGguf: weights dequantized exactly in f32 and rounded to the element type; then as Wmma
//   without the final rounding (f32 output).
// The f32 summation order is one fixed order the precision guarantee admits; results are the same
// on every run and thread count. Throws as validate(), and on an out of the wrong length.
void moe_reference(const MoeProblem& problem, std::span<std::byte> out);

// Typed forms of moe_reference.
void moe_scalar_gguf(const MoeShape& shape, GgufBlockFormat format,
                     std::span<const float> activations, std::span<const std::uint8_t> weights,
                     const RoutedPairs& pairs, std::span<float> out);
void moe_wmma(const MoeShape& shape, ElementKind element,
              std::span<const std::uint16_t> activations, std::span<const std::uint16_t> weights,
              const RoutedPairs& pairs, std::span<std::uint16_t> out);
void moe_wmma_gguf(const MoeShape& shape, ElementKind element, GgufBlockFormat format,
                   std::span<const std::uint16_t> activations,
                   std::span<const std::uint8_t> weights, const RoutedPairs& pairs,
                   std::span<float> out);

// The variant's definition evaluated in double: value = s * Σ_k a_k * w_k with the activations
// and weights exactly as the variant defines them (ScalarGguf: a = f32(d) * q of the q8_1 blocks,
// w = ggml's dequantized values; WmmaGguf: w = the dequantized value rounded to the element type),
// each product exact and the sum rounded only to double. magnitude S = |s| * Σ_k |a_k| * |w_k|,
// the scale of rounding errors: for ScalarGguf weights of a format with a min (q4_1 q5_1 q2_k
// q4_k q5_k), |w_k| counts as |scale part| + |min part|, the two terms kernels compute apart.
struct MoeDouble {
  MoeShape shape;
  std::vector<double> value;              // [P, N]; 0 in rows no valid entry targets
  std::vector<double> magnitude;          // [P, N]; 0 in rows no valid entry targets
  std::vector<std::uint8_t> row_written;  // [P]: 1 where a valid entry targets the row
};

// Throws as validate().
MoeDouble moe_double(const MoeProblem& problem);

// Element bits <-> f32 for F16 and Bf16 (round to nearest even). Throws Error(InvalidProblem) for
// F32, which has no 16-bit encoding.
float element_to_float(std::uint16_t bits, ElementKind element);
std::uint16_t float_to_element(float value, ElementKind element);

}  // namespace moejit::ref
