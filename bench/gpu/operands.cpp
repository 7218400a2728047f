// Routing, weights, activations and the rotated buffer sets of the GPU benchmark.
#include "bench/gpu/operands.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <span>

#include "moejit/gguf.hpp"
#include "runtime/driver.hpp"

namespace moejit::gpubench {
namespace {

constexpr int kPoolRows = 61;  // a prime, so that experts (N rows apart) start on different rows
constexpr int kMaxSets = 64;

std::uniform_real_distribution<float> unit() {
  return std::uniform_real_distribution<float>(-1, 1);
}

template <class T>
DeviceBuffer upload(const std::vector<T>& host) {
  return DeviceBuffer::from(host);
}

}  // namespace

std::size_t weight_row_bytes(const Shape& shape, const KernelConfig& kernel) {
  if (kernel.format) return gguf_bytes(*kernel.format, static_cast<std::size_t>(shape.k));
  return static_cast<std::size_t>(shape.k) * element_bytes(kernel.element);
}

std::size_t activation_bytes(const Shape& shape, const KernelConfig& kernel, int tokens) {
  return static_cast<std::size_t>(tokens) * shape.k * element_bytes(kernel.element);
}

std::size_t output_bytes(const Shape& shape, const KernelConfig& kernel, int tokens) {
  const std::size_t out_elem =
      kernel.variant == MoeVariant::Wmma ? element_bytes(kernel.element) : sizeof(float);
  return static_cast<std::size_t>(tokens) * shape.top_k * shape.n * out_elem;
}

double expected_touched(const Shape& shape, int tokens) {
  return ref::expected_touched_experts(shape.experts, shape.top_k, tokens);
}

double call_bytes(const Shape& shape, const KernelConfig& kernel, int tokens, double touched) {
  return touched * shape.n * static_cast<double>(weight_row_bytes(shape, kernel)) +
         static_cast<double>(activation_bytes(shape, kernel, tokens)) +
         static_cast<double>(output_bytes(shape, kernel, tokens));
}

double call_flops(const Shape& shape, int tokens) {
  return 2.0 * tokens * shape.top_k * static_cast<double>(shape.n) * shape.k;
}

int rotation_sets(double bytes, std::size_t l2_bytes) {
  const double l2 = static_cast<double>(l2_bytes);
  if (bytes >= l2 || bytes <= 0) return 1;
  return std::clamp(static_cast<int>(std::ceil(4.0 * l2 / bytes)), 2, kMaxSets);
}

HostRouting random_routing(const Shape& shape, int tokens, std::uint32_t seed) {
  HostRouting r;
  const std::vector<std::int32_t> topk_ids =
      ref::typical_topk_ids(shape.experts, shape.top_k, tokens, seed, &r.touched);
  r.routing = ref::make_routing(topk_ids, shape.experts);
  return r;
}

std::vector<std::uint8_t> host_weights(const Shape& shape, const KernelConfig& kernel) {
  const std::size_t row_bytes = weight_row_bytes(shape, kernel);
  const std::size_t k = static_cast<std::size_t>(shape.k);
  std::mt19937 rng(0x9E3779B9u ^ static_cast<std::uint32_t>(shape.n * 131 + shape.k));
  auto u = unit();
  std::vector<float> values(kPoolRows * k);
  for (float& v : values) v = u(rng);
  std::vector<std::uint8_t> pool(kPoolRows * row_bytes);
  if (kernel.format) {
    quantize(*kernel.format, values, pool);
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint16_t bits = ref::float_to_element(values[i], kernel.element);
      std::memcpy(pool.data() + 2 * i, &bits, 2);
    }
  }
  const std::size_t rows = static_cast<std::size_t>(shape.experts) * shape.n;
  std::vector<std::uint8_t> out(rows * row_bytes);
  for (std::size_t r = 0; r < rows; ++r)
    std::memcpy(out.data() + r * row_bytes, pool.data() + (r % kPoolRows) * row_bytes, row_bytes);
  return out;
}

std::vector<std::uint8_t> host_activations(const Shape& shape, const KernelConfig& kernel,
                                           int tokens, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto u = unit();
  const std::size_t count = static_cast<std::size_t>(tokens) * shape.k;
  std::vector<std::uint8_t> out(count * element_bytes(kernel.element));
  for (std::size_t i = 0; i < count; ++i) {
    const float v = u(rng);
    if (kernel.element == ElementKind::F32) {
      std::memcpy(out.data() + 4 * i, &v, 4);
    } else {
      const std::uint16_t bits = ref::float_to_element(v, kernel.element);
      std::memcpy(out.data() + 2 * i, &bits, 2);
    }
  }
  return out;
}

WeightCopies::WeightCopies(std::vector<std::uint8_t> host, int copies) : host_(std::move(host)) {
  copies_.reserve(static_cast<std::size_t>(copies));
  copies_.push_back(upload(host_));
  // Further copies on the device (tens of GB over PCIe otherwise).
  for (int i = 1; i < copies; ++i) {
    DeviceBuffer b(host_.size());
    driver::check(driver::api().cuMemcpyDtoD(b.handle(), copies_.front().handle(), host_.size()),
                  "cuMemcpyDtoD");
    copies_.push_back(std::move(b));
  }
  // Copies and memsets run on the legacy stream, which the benchmark's stream does not wait for.
  device_synchronize();
}

const DeviceBuffer& WeightCopies::copy(int set) const {
  return copies_.at(static_cast<std::size_t>(set) % copies_.size());
}

PointOperands::PointOperands(const Shape& shape, const KernelConfig& kernel, int tokens, int sets,
                             std::size_t workspace_bytes)
    : workspace_(std::max<std::size_t>(workspace_bytes, 16)) {
  sets_.resize(static_cast<std::size_t>(sets));
  for (int i = 0; i < sets; ++i) {
    DeviceSet& s = sets_[static_cast<std::size_t>(i)];
    // The routing depends on the point and set only, so every kernel sees the same experts.
    const std::uint32_t seed = static_cast<std::uint32_t>(tokens) * 7919u +
                               static_cast<std::uint32_t>(i) * 104729u +
                               static_cast<std::uint32_t>(shape.experts * 31 + shape.n);
    s.routing = random_routing(shape, tokens, seed);
    s.activations_host = host_activations(shape, kernel, tokens, seed ^ 0x5bd1e995u);
    s.activations = upload(s.activations_host);
    s.sorted_ids = upload(s.routing.routing.sorted_ids);
    s.expert_ids = upload(s.routing.routing.expert_ids);
    s.output = DeviceBuffer(output_bytes(shape, kernel, tokens));
    s.output.fill_bytes(0);
  }
  workspace_.fill_bytes(0);
  device_synchronize();
}

double PointOperands::touched() const {
  double sum = 0;
  for (const DeviceSet& s : sets_) sum += s.routing.touched;
  return sets_.empty() ? 0.0 : sum / static_cast<double>(sets_.size());
}

MoeArgs PointOperands::args(int i, const WeightCopies& weights) const {
  const DeviceSet& s = set(i);
  const DeviceBuffer& w = weights.copy(i);
  MoeArgs a;
  a.activations = s.activations.get();
  a.activations_bytes = s.activations.bytes();
  a.sorted_ids = static_cast<const std::int32_t*>(s.sorted_ids.get());
  a.expert_ids = static_cast<const std::int32_t*>(s.expert_ids.get());
  a.size_m = s.routing.routing.sorted_ids.size();
  a.weights = w.get();
  a.weights_bytes = w.bytes();
  a.output = s.output.get();
  a.output_bytes = s.output.bytes();
  return a;
}

ref::MoeProblem reference_problem(const Shape& shape, const KernelConfig& kernel, int tokens,
                                  const DeviceSet& set, const std::vector<std::uint8_t>& weights) {
  const ref::MoeShape s{tokens, shape.experts, shape.top_k, shape.n, shape.k};
  const ref::RoutedPairs pairs = set.routing.routing.pairs();
  const std::vector<std::uint8_t>& a = set.activations_host;
  switch (kernel.variant) {
    case MoeVariant::ScalarGguf:
      return ref::scalar_gguf_problem(
          s, *kernel.format,
          std::span<const float>(reinterpret_cast<const float*>(a.data()), a.size() / 4), weights,
          pairs);
    case MoeVariant::WmmaGguf:
      return ref::wmma_gguf_problem(
          s, kernel.element, *kernel.format,
          std::span<const std::uint16_t>(reinterpret_cast<const std::uint16_t*>(a.data()),
                                         a.size() / 2),
          weights, pairs);
    case MoeVariant::Wmma:
      break;
  }
  return ref::wmma_problem(
      s, kernel.element,
      std::span<const std::uint16_t>(reinterpret_cast<const std::uint16_t*>(a.data()),
                                     a.size() / 2),
      std::span<const std::uint16_t>(reinterpret_cast<const std::uint16_t*>(weights.data()),
                                     weights.size() / 2),
      pairs);
}

}  // namespace moejit::gpubench
