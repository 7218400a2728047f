// Operands of the CPU MoE reference in the form its loops use: valid entries grouped by expert,
// activation rows as exact f32 values, and tiles of decoded expert weight rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "moejit/reference.hpp"

namespace moejit::ref::operands {

// Output rows of one expert decoded per work item.
inline constexpr int kRowsPerTile = 16;

// The valid entries (expert in [0, E), pair in [0, P)) grouped by expert, in entry order: the
// pair ids of expert e are pairs[offsets[e] .. offsets[e + 1]).
struct EntryGroups {
  std::vector<std::size_t> offsets;
  std::vector<std::int32_t> pairs;
};

// validate() plus the grouping; throws as validate().
EntryGroups validate_and_group(const MoeProblem& problem);

// Rows of the activation operand: P with topk_weights, else num_tokens.
std::int64_t input_rows(const MoeProblem& problem);

// Input row and scale of pair p.
inline std::int64_t input_row(const MoeProblem& problem, std::int32_t p) {
  return problem.pairs.topk_weights ? p : p / problem.shape.top_k;
}
inline float pair_scale(const MoeProblem& problem, std::int32_t p) {
  return problem.pairs.topk_weights ? (*problem.pairs.topk_weights)[static_cast<std::size_t>(p)]
                                    : 1.0f;
}

// The activations as the variant defines them, [input_rows, K], each value exact in f32:
// ScalarGguf: f32(d) * q of the q8_1 blocks; Wmma, WmmaGguf: the element values.
std::vector<float> activation_values(const MoeProblem& problem);

// Weight rows [n0, n1) of one expert decoded to K values each (exact in f32: element values,
// ggml dequantized values, or those rounded to the element type for WmmaGguf), the tile the loops
// below hand to their body.
struct WeightTile {
  int expert = 0;
  int n0 = 0;
  int n1 = 0;
  std::span<const float> values;        // [(n1 - n0), K]
  std::span<const float> magnitudes;    // [(n1 - n0), K] when asked for, else empty
  std::span<const std::int32_t> pairs;  // the pair ids of this expert's valid entries
};

// Runs body once per tile of kRowsPerTile rows of every expert that has valid entries, in
// parallel; each weight row is decoded once. With magnitudes, each tile also carries the weight
// magnitudes of MoeDouble (|w|, or |scale part| + |min part| for ScalarGguf formats with a min).
void for_each_tile(const MoeProblem& problem, const EntryGroups& groups, bool magnitudes,
                   const std::function<void(const WeightTile&)>& body);

}  // namespace moejit::ref::operands
