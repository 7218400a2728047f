// The exact CPU result of every MoE variant: the variant's definition with its f32 sums taken in
// one fixed order (the same on every run and thread count).
#include <cstring>
#include <string>

#include "moejit/error.hpp"
#include "moejit/reference.hpp"
#include "reference/moe_operands.hpp"

namespace moejit::ref {
namespace {

constexpr int kLanes = 16;
constexpr std::size_t kQ8Block = 32;

// f32 dot product in a fixed order: lane j sums the products with index = j (mod 16) in
// ascending order, then the lanes are added pairwise (j + 8, j + 4, j + 2, j + 1). Products of
// f16/bf16 values are exact in f32.
float dot_f32(const float* a, const float* w, std::size_t k) {
  float acc[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * w[i + j];
  for (int j = 0; i + j < k; ++j) acc[j] += a[i + j] * w[i + j];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) acc[j] += acc[j + width];
  return acc[0];
}

// ScalarGguf: each 32-value block's dot product evaluated in double (every product a * w is exact
// there: a = f32(d) * q has at most 19 significant bits) and rounded to f32 once; the blocks
// then summed in f32 in ascending order.
float dot_q8_blocks(const float* a, const float* w, std::size_t k) {
  float acc = 0.0f;
  for (std::size_t b = 0; b < k; b += kQ8Block) {
    double part[4] = {};
    for (std::size_t i = 0; i < kQ8Block; i += 4)
      for (std::size_t j = 0; j < 4; ++j)
        part[j] += static_cast<double>(a[b + i + j]) * static_cast<double>(w[b + i + j]);
    acc += static_cast<float>((part[0] + part[1]) + (part[2] + part[3]));
  }
  return acc;
}

template <typename T>
std::span<std::byte> bytes_of(std::span<T> s) {
  return std::as_writable_bytes(s);
}

}  // namespace

void moe_reference(const MoeProblem& problem, std::span<std::byte> out) {
  const operands::EntryGroups groups = operands::validate_and_group(problem);
  const bool element_out = problem.variant == MoeVariant::Wmma;
  const std::size_t out_bytes = element_out ? 2 : 4;
  const auto n = static_cast<std::size_t>(problem.shape.n);
  const auto k = static_cast<std::size_t>(problem.shape.k);
  const std::size_t expected = static_cast<std::size_t>(problem.shape.num_pairs()) * n * out_bytes;
  if (out.size() != expected)
    throw Error(ErrorCode::InvalidProblem,
                "out has " + std::to_string(out.size()) + " bytes but the problem needs " +
                    std::to_string(expected) + " (P * n * " + std::to_string(out_bytes) +
                    " bytes, P = num_tokens * top_k)");

  const std::vector<float> acts = operands::activation_values(problem);
  const bool q8 = problem.variant == MoeVariant::ScalarGguf;
  operands::for_each_tile(problem, groups, false, [&](const operands::WeightTile& t) {
    for (const std::int32_t p : t.pairs) {
      const float* a = acts.data() + static_cast<std::size_t>(operands::input_row(problem, p)) * k;
      const float s = operands::pair_scale(problem, p);
      for (int r = 0; r < t.n1 - t.n0; ++r) {
        const float* w = t.values.data() + static_cast<std::size_t>(r) * k;
        const float y = s * (q8 ? dot_q8_blocks(a, w, k) : dot_f32(a, w, k));
        std::byte* dst = out.data() + (static_cast<std::size_t>(p) * n + t.n0 + r) * out_bytes;
        if (element_out) {
          const std::uint16_t bits = float_to_element(y, problem.element);
          std::memcpy(dst, &bits, sizeof bits);
        } else {
          std::memcpy(dst, &y, sizeof y);
        }
      }
    }
  });
}

void moe_scalar_gguf(const MoeShape& shape, GgufBlockFormat format,
                     std::span<const float> activations, std::span<const std::uint8_t> weights,
                     const RoutedPairs& pairs, std::span<float> out) {
  moe_reference(scalar_gguf_problem(shape, format, activations, weights, pairs), bytes_of(out));
}

void moe_wmma(const MoeShape& shape, ElementKind element,
              std::span<const std::uint16_t> activations, std::span<const std::uint16_t> weights,
              const RoutedPairs& pairs, std::span<std::uint16_t> out) {
  moe_reference(wmma_problem(shape, element, activations, weights, pairs), bytes_of(out));
}

void moe_wmma_gguf(const MoeShape& shape, ElementKind element, GgufBlockFormat format,
                   std::span<const std::uint16_t> activations,
                   std::span<const std::uint8_t> weights, const RoutedPairs& pairs,
                   std::span<float> out) {
  moe_reference(wmma_gguf_problem(shape, element, format, activations, weights, pairs),
                bytes_of(out));
}

}  // namespace moejit::ref
