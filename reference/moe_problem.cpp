// MoeProblem: typed constructors, validation of every field, grouping of the valid entries by
// expert, and the element-type conversions of the reference API.
#include <limits>
#include <string>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "moejit/reference.hpp"
#include "reference/moe_operands.hpp"

namespace moejit::ref {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidProblem, message);
}

// a * b for non-negative sizes; throws when the product does not fit a size_t.
std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
  std::size_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    invalid(std::string(what) + " does not fit in memory: the problem dimensions are too large");
  return r;
}

void check_length(std::size_t actual, std::size_t expected, const std::string& field,
                  const std::string& formula) {
  if (actual != expected)
    invalid(field + " has " + std::to_string(actual) + " bytes/values but the problem needs " +
            std::to_string(expected) + " (" + formula + ")");
}

void check_shape(const MoeShape& s) {
  if (s.num_tokens < 0) invalid("num_tokens is " + std::to_string(s.num_tokens) + "; use >= 0");
  if (s.num_experts <= 0) invalid("num_experts is " + std::to_string(s.num_experts) + "; use > 0");
  if (s.top_k <= 0) invalid("top_k is " + std::to_string(s.top_k) + "; use > 0");
  if (s.n <= 0) invalid("n (d_expert) is " + std::to_string(s.n) + "; use > 0");
  if (s.k <= 0) invalid("k (d_model) is " + std::to_string(s.k) + "; use > 0");
  if (s.num_pairs() > std::numeric_limits<std::int32_t>::max())
    invalid("num_tokens * top_k = " + std::to_string(s.num_pairs()) +
            " pairs exceed the int32 range of sorted_ids");
}

void check_types(const MoeProblem& p) {
  const std::string v(variant_name(p.variant));
  const bool gguf = p.variant != MoeVariant::Wmma;
  if (p.variant == MoeVariant::ScalarGguf) {
    if (p.element != ElementKind::F32)
      invalid("element is " + std::string(element_name(p.element)) +
              " but scalar_gguf takes f32 activations");
  } else if (p.element != ElementKind::F16 && p.element != ElementKind::Bf16) {
    invalid("element is " + std::string(element_name(p.element)) + " but " + v +
            " takes f16 or bf16");
  }
  if (!gguf && p.format) invalid("format is set but wmma takes dense element weights; unset it");
  if (gguf && !p.format) invalid("format is missing: " + v + " needs the GGUF weight format");
  if (gguf) {
    const BlockLayout& l = block_layout(*p.format);
    if (!l.weight_format)
      invalid("format " + std::string(l.name) + " is an activation format, not a weight format");
    if (p.shape.k % l.block_elems != 0)
      invalid("k = " + std::to_string(p.shape.k) + " is not a multiple of the " +
              std::string(l.name) + " block size " + std::to_string(l.block_elems));
  }
}

void check_operands(const MoeProblem& p) {
  const MoeShape& s = p.shape;
  const auto pairs = static_cast<std::size_t>(s.num_pairs());
  const auto rows = static_cast<std::size_t>(operands::input_rows(p));
  const std::size_t k = static_cast<std::size_t>(s.k);
  const std::size_t act_elem = element_bytes(p.element);
  check_length(p.activations.size(),
               checked_mul(checked_mul(rows, k, "activations"), act_elem, "activations"),
               "activations",
               std::string(p.pairs.topk_weights ? "P" : "num_tokens") + " * k * " +
                   std::to_string(act_elem) + " bytes");
  const std::size_t rows_w = checked_mul(static_cast<std::size_t>(s.num_experts),
                                         static_cast<std::size_t>(s.n), "weights");
  if (p.format) {
    const BlockLayout& l = block_layout(*p.format);
    const std::size_t row_bytes =
        k / static_cast<std::size_t>(l.block_elems) * static_cast<std::size_t>(l.block_bytes);
    check_length(p.weights.size(), checked_mul(rows_w, row_bytes, "weights"), "weights",
                 "num_experts * n * (k / " + std::to_string(l.block_elems) + ") * " +
                     std::to_string(l.block_bytes) + " bytes of " + std::string(l.name));
  } else {
    check_length(p.weights.size(), checked_mul(checked_mul(rows_w, k, "weights"), 2, "weights"),
                 "weights", "num_experts * n * k * 2 bytes");
  }
  if (p.pairs.sorted_ids.size() != p.pairs.expert_ids.size())
    invalid("sorted_ids has " + std::to_string(p.pairs.sorted_ids.size()) +
            " entries but expert_ids has " + std::to_string(p.pairs.expert_ids.size()) +
            "; they must be aligned entry for entry");
  if (p.pairs.topk_weights)
    check_length(p.pairs.topk_weights->size(), pairs, "topk_weights",
                 "one f32 per pair, P = num_tokens * top_k");
}

}  // namespace

namespace operands {

std::int64_t input_rows(const MoeProblem& problem) {
  return problem.pairs.topk_weights ? problem.shape.num_pairs() : problem.shape.num_tokens;
}

EntryGroups validate_and_group(const MoeProblem& problem) {
  check_shape(problem.shape);
  check_types(problem);
  check_operands(problem);

  const auto num_experts = static_cast<std::size_t>(problem.shape.num_experts);
  const std::int64_t num_pairs = problem.shape.num_pairs();
  const auto& ids = problem.pairs.sorted_ids;
  const auto& experts = problem.pairs.expert_ids;
  auto valid = [&](std::size_t i) {
    return experts[i] >= 0 && static_cast<std::size_t>(experts[i]) < num_experts && ids[i] >= 0 &&
           ids[i] < num_pairs;
  };

  EntryGroups g;
  g.offsets.assign(num_experts + 1, 0);
  std::vector<std::int64_t> first_entry(static_cast<std::size_t>(num_pairs), -1);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!valid(i)) continue;
    auto& first = first_entry[static_cast<std::size_t>(ids[i])];
    if (first >= 0)
      invalid("sorted_ids[" + std::to_string(first) + "] and sorted_ids[" + std::to_string(i) +
              "] both target pair " + std::to_string(ids[i]) +
              "; each pair (output row) must appear once (sorted_ids holds pair ids "
              "t * top_k + j, not token ids)");
    first = static_cast<std::int64_t>(i);
    ++g.offsets[static_cast<std::size_t>(experts[i]) + 1];
  }
  for (std::size_t e = 0; e < num_experts; ++e) g.offsets[e + 1] += g.offsets[e];
  g.pairs.resize(g.offsets[num_experts]);
  std::vector<std::size_t> fill(g.offsets.begin(), g.offsets.end() - 1);
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (valid(i)) g.pairs[fill[static_cast<std::size_t>(experts[i])]++] = ids[i];
  return g;
}

}  // namespace operands

void validate(const MoeProblem& problem) { operands::validate_and_group(problem); }

MoeProblem scalar_gguf_problem(const MoeShape& shape, GgufBlockFormat format,
                               std::span<const float> activations,
                               std::span<const std::uint8_t> weights, const RoutedPairs& pairs) {
  return {MoeVariant::ScalarGguf,     ElementKind::F32,       format, shape,
          std::as_bytes(activations), std::as_bytes(weights), pairs};
}

MoeProblem wmma_problem(const MoeShape& shape, ElementKind element,
                        std::span<const std::uint16_t> activations,
                        std::span<const std::uint16_t> weights, const RoutedPairs& pairs) {
  return {MoeVariant::Wmma,       element, std::nullopt, shape, std::as_bytes(activations),
          std::as_bytes(weights), pairs};
}

MoeProblem wmma_gguf_problem(const MoeShape& shape, ElementKind element, GgufBlockFormat format,
                             std::span<const std::uint16_t> activations,
                             std::span<const std::uint8_t> weights, const RoutedPairs& pairs) {
  return {MoeVariant::WmmaGguf,   element, format, shape, std::as_bytes(activations),
          std::as_bytes(weights), pairs};
}

float element_to_float(std::uint16_t bits, ElementKind element) {
  switch (element) {
    case ElementKind::F16:
      return half_to_float(bits);
    case ElementKind::Bf16:
      return bf16_to_float(bits);
    case ElementKind::F32:
      break;
  }
  invalid("element f32 has no 16-bit encoding; use f16 or bf16");
}

std::uint16_t float_to_element(float value, ElementKind element) {
  switch (element) {
    case ElementKind::F16:
      return float_to_half(value);
    case ElementKind::Bf16:
      return float_to_bf16(value);
    case ElementKind::F32:
      break;
  }
  invalid("element f32 has no 16-bit encoding; use f16 or bf16");
}

}  // namespace moejit::ref
