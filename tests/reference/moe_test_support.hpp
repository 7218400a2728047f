// Test problems for the MoE reference suites: random operands of every variant, routing, output
// buffers filled with a sentinel, and a plain triple-loop double evaluation of the definition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "moejit/gguf.hpp"
#include "moejit/reference.hpp"

namespace moejit::testing_moe {

// All operands of one problem, owned.
struct Case {
  MoeVariant variant = MoeVariant::Wmma;
  ElementKind element = ElementKind::F16;
  std::optional<GgufBlockFormat> format;
  ref::MoeShape shape;
  std::vector<float> act_f32;         // ScalarGguf
  std::vector<std::uint16_t> act_el;  // Wmma, WmmaGguf
  std::vector<std::uint16_t> w_el;    // Wmma
  std::vector<std::uint8_t> w_gguf;   // GGUF variants
  std::vector<std::int32_t> sorted_ids;
  std::vector<std::int32_t> expert_ids;
  std::optional<std::vector<float>> topk_weights;

  ref::RoutedPairs pairs() const {
    ref::RoutedPairs p{sorted_ids, expert_ids, std::nullopt};
    if (topk_weights) p.topk_weights = std::span<const float>(*topk_weights);
    return p;
  }
  ref::MoeProblem problem() const {
    ref::MoeProblem p;
    p.variant = variant;
    p.element = element;
    p.format = format;
    p.shape = shape;
    p.activations = variant == MoeVariant::ScalarGguf ? std::as_bytes(std::span(act_f32))
                                                      : std::as_bytes(std::span(act_el));
    p.weights = format ? std::as_bytes(std::span(w_gguf)) : std::as_bytes(std::span(w_el));
    p.pairs = pairs();
    return p;
  }
  std::size_t out_elems() const {
    return static_cast<std::size_t>(shape.num_pairs()) * static_cast<std::size_t>(shape.n);
  }
  std::int64_t input_rows() const { return topk_weights ? shape.num_pairs() : shape.num_tokens; }
};

// Approximately normal values (mean 0, deviation sigma; a sum of four uniforms), fast enough for
// operands of hundreds of millions of values.
inline std::vector<float> normal_values(std::size_t n, std::uint32_t seed, float sigma = 1.0f) {
  std::uint64_t state = (static_cast<std::uint64_t>(seed) + 1) * 0x9E3779B97F4A7C15ull;
  const float scale = sigma * 1.7320508f / 65536.0f;  // sqrt(3) / 2^16: unit variance
  std::vector<float> v(n);
  for (auto& x : v) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const std::uint64_t r = state * 0x2545F4914F6CDD1Dull;
    const int sum = static_cast<int>(r & 0xFFFF) + static_cast<int>((r >> 16) & 0xFFFF) +
                    static_cast<int>((r >> 32) & 0xFFFF) + static_cast<int>(r >> 48);
    x = static_cast<float>(sum - 2 * 65535) * scale;
  }
  return v;
}

// top_k distinct experts per token, in random order.
inline std::vector<std::int32_t> random_topk_ids(int tokens, int top_k, int experts,
                                                 std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<std::int32_t> ids;
  for (int t = 0; t < tokens; ++t) {
    std::vector<std::int32_t> all(static_cast<std::size_t>(experts));
    for (int e = 0; e < experts; ++e) all[static_cast<std::size_t>(e)] = e;
    std::shuffle(all.begin(), all.end(), gen);
    ids.insert(ids.end(), all.begin(), all.begin() + top_k);
  }
  return ids;
}

// A problem of the given kind with random operands and routing (weights in (0.1, 1.1) when
// weighted). Uses make_routing, so expert_ids are ascending.
inline Case make_case(MoeVariant variant, ElementKind element,
                      std::optional<GgufBlockFormat> format, ref::MoeShape shape, bool weighted,
                      std::uint32_t seed) {
  Case c;
  c.variant = variant;
  c.element = element;
  c.format = format;
  c.shape = shape;
  const auto ids = random_topk_ids(shape.num_tokens, shape.top_k, shape.num_experts, seed);
  ref::Routing r = ref::make_routing(ids, shape.num_experts);
  c.sorted_ids = std::move(r.sorted_ids);
  c.expert_ids = std::move(r.expert_ids);
  if (weighted) {
    std::vector<float> w = normal_values(static_cast<std::size_t>(shape.num_pairs()), seed + 1);
    for (auto& x : w) x = 0.6f + 0.5f * std::tanh(x);
    c.topk_weights = std::move(w);
  }
  const auto act_n = static_cast<std::size_t>(c.input_rows()) * static_cast<std::size_t>(shape.k);
  const auto w_n = static_cast<std::size_t>(shape.num_experts) * static_cast<std::size_t>(shape.n) *
                   static_cast<std::size_t>(shape.k);
  const std::vector<float> act = normal_values(act_n, seed + 2);
  if (variant == MoeVariant::ScalarGguf) {
    c.act_f32 = act;
  } else {
    for (float x : act) c.act_el.push_back(ref::float_to_element(x, element));
  }
  const std::vector<float> w = normal_values(w_n, seed + 3, 0.5f);
  if (format) {
    c.w_gguf.resize(gguf_bytes(*format, w_n));
    quantize(*format, w, c.w_gguf);
  } else {
    for (float x : w) c.w_el.push_back(ref::float_to_element(x, element));
  }
  return c;
}

// An output buffer filled with NaN (f32 or element bits) as the bytes moe_reference writes.
struct Output {
  std::vector<float> f32;
  std::vector<std::uint16_t> bits;
  std::span<std::byte> bytes() {
    return f32.empty() ? std::as_writable_bytes(std::span(bits))
                       : std::as_writable_bytes(std::span(f32));
  }
};
inline Output nan_output(const Case& c) {
  Output o;
  if (c.variant == MoeVariant::Wmma)
    o.bits.assign(c.out_elems(), c.element == ElementKind::F16 ? 0x7E00 : 0x7FC0);
  else
    o.f32.assign(c.out_elems(), std::numeric_limits<float>::quiet_NaN());
  return o;
}

// The definition evaluated by plain loops in double, independent of the library's grouping and
// tiling: value[p * N + n] for every valid entry, NaN in rows no valid entry targets.
inline std::vector<double> naive_double(const Case& c) {
  const auto& s = c.shape;
  const auto k = static_cast<std::size_t>(s.k);
  const auto n = static_cast<std::size_t>(s.n);
  std::vector<double> out(c.out_elems(), std::numeric_limits<double>::quiet_NaN());
  // Activations as the definition reads them, every input row.
  const auto rows = static_cast<std::size_t>(c.input_rows());
  std::vector<double> a(rows * k);
  for (std::size_t i = 0; i < rows * k; ++i) {
    if (c.variant != MoeVariant::ScalarGguf) {
      a[i] = ref::element_to_float(c.act_el[i], c.element);
    } else if (i % 32 == 0) {
      Q8_1Block b;
      quantize_q8_1(std::span(c.act_f32).subspan(i, 32), std::span(&b, 1));
      for (int j = 0; j < 32; ++j) a[i + j] = static_cast<double>(half_to_float(b.d)) * b.qs[j];
    }
  }
  auto weight_row = [&](int e, std::size_t col) {
    std::vector<double> w(k);
    const std::size_t row = static_cast<std::size_t>(e) * n + col;
    if (!c.format) {
      for (std::size_t i = 0; i < k; ++i)
        w[i] = ref::element_to_float(c.w_el[row * k + i], c.element);
      return w;
    }
    const std::size_t row_bytes = gguf_bytes(*c.format, k);
    std::vector<float> f(k);
    dequantize(*c.format, std::span(c.w_gguf).subspan(row * row_bytes, row_bytes), f);
    for (std::size_t i = 0; i < k; ++i)
      w[i] = c.variant == MoeVariant::WmmaGguf
                 ? ref::element_to_float(ref::float_to_element(f[i], c.element), c.element)
                 : f[i];
    return w;
  };
  for (std::size_t i = 0; i < c.sorted_ids.size(); ++i) {
    const std::int32_t p = c.sorted_ids[i];
    const std::int32_t e = c.expert_ids[i];
    if (e < 0 || e >= s.num_experts || p < 0 || p >= s.num_pairs()) continue;
    const std::int64_t row = c.topk_weights ? p : p / s.top_k;
    const double scale = c.topk_weights ? (*c.topk_weights)[static_cast<std::size_t>(p)] : 1.0;
    for (std::size_t col = 0; col < n; ++col) {
      const std::vector<double> w = weight_row(e, col);
      double acc = 0;
      for (std::size_t j = 0; j < k; ++j) acc += a[static_cast<std::size_t>(row) * k + j] * w[j];
      out[static_cast<std::size_t>(p) * n + col] = scale * acc;
    }
  }
  return out;
}

}  // namespace moejit::testing_moe
