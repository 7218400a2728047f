// Building, running and checking the GPU test cases (see gpu_case.hpp).
#include "tests/gpu/gpu_case.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "moejit/gguf.hpp"
#include "runtime/device_memory.hpp"
#include "runtime/driver.hpp"

namespace moejit::gputest {

bool have_gpu() { return driver::available(); }

Case Case::of(MoeVariant v, int tokens, int experts, int top_k, int n, int k) {
  Case c;
  c.variant = v;
  c.element = v == MoeVariant::ScalarGguf ? ElementKind::F32 : ElementKind::F16;
  c.tokens = tokens;
  c.experts = experts;
  c.top_k = top_k;
  c.n = n;
  c.k = k;
  return c;
}

void expect_correct(const RunOutcome& r) {
  EXPECT_TRUE(r.check.pass) << r.sku << ": " << r.check.summary();
  EXPECT_EQ(r.check.non_finite, 0u) << r.sku << ": elements left unwritten";
  EXPECT_EQ(r.check.disturbed, 0u) << r.sku << ": rows no entry targets were written";
}

MoeDescriptor Case::descriptor() const {
  MoeDescriptor d;
  d.num_tokens = tokens;
  d.num_experts = experts;
  d.top_k = top_k;
  d.d_model = k;
  d.d_expert = n;
  d.variant = variant;
  d.block_format = format;
  d.element = element;
  d.is_prefill = prefill;
  d.tile = tile;
  return d;
}

std::string Case::name() const {
  std::ostringstream s;
  s << variant_name(variant);
  if (format) s << '_' << format_name(*format);
  s << '_' << element_name(element) << "_T" << tokens << "_E" << experts << "_k" << top_k << "_N"
    << n << "_K" << k << (prefill ? "_prefill" : "_decode")
    << (weighted ? "_weighted" : "_unweighted");
  if (routing == RoutingKind::OneExpert) s << "_hot";
  if (invalid_entries) s << "_invalid";
  if (shuffled) s << "_shuffled";
  if (tile)
    s << "_tile" << tile->bm << 'x' << tile->bn << 'x' << tile->bk << "w" << tile->warps << "s"
      << tile->stages << (tile->reg_weights ? "rw" : "");
  if (seed != 1) s << "_s" << seed;
  return s.str();
}

ref::MoeProblem HostOperands::problem(const Case& c) const {
  std::optional<std::span<const float>> weights;
  if (!topk_weights.empty()) weights = std::span<const float>(topk_weights);
  const ref::RoutedPairs pairs{sorted_ids, expert_ids, weights};
  switch (c.variant) {
    case MoeVariant::ScalarGguf:
      return ref::scalar_gguf_problem(shape, *c.format, activations_f32, weight_blocks, pairs);
    case MoeVariant::Wmma:
      return ref::wmma_problem(shape, c.element, activations_bits, weight_bits, pairs);
    case MoeVariant::WmmaGguf:
      break;
  }
  return ref::wmma_gguf_problem(shape, c.element, *c.format, activations_bits, weight_blocks,
                                pairs);
}

namespace {

// Routing of a case: entries sorted by expert (ascending), optionally with invalid entries.
void make_routing(const Case& c, std::mt19937& rng, HostOperands& ops) {
  const std::int64_t pairs = ops.shape.num_pairs();
  std::vector<std::int32_t> topk_ids(static_cast<std::size_t>(pairs));
  std::uniform_int_distribution<int> pick(0, c.experts - 1);
  const int hot = static_cast<int>(c.seed % static_cast<std::uint32_t>(c.experts));
  for (int t = 0; t < c.tokens; ++t) {
    for (int j = 0; j < c.top_k; ++j) {
      std::int32_t e = 0;
      if (c.routing == RoutingKind::OneExpert) {
        e = (hot + j) % c.experts;
      } else {
        bool distinct = false;
        while (!distinct) {
          e = pick(rng);
          distinct = std::find(topk_ids.begin() + t * c.top_k, topk_ids.begin() + t * c.top_k + j,
                               e) == topk_ids.begin() + t * c.top_k + j;
        }
      }
      topk_ids[static_cast<std::size_t>(t) * c.top_k + j] = e;
    }
  }
  ref::Routing routing = ref::make_routing(topk_ids, c.experts);
  if (c.invalid_entries) {
    std::vector<std::pair<std::int32_t, std::int32_t>> entries;  // (expert, pair)
    for (std::size_t i = 0; i < routing.sorted_ids.size(); ++i) {
      std::int32_t e = routing.expert_ids[i];
      // Out-of-range experts: these pairs' rows must stay untouched.
      if (i % 7 == 3) e = (i % 2 == 1) ? -1 : c.experts;
      entries.emplace_back(e, routing.sorted_ids[i]);
    }
    // Out-of-range pair ids with valid experts.
    for (int i = 0; i < 3; ++i) {
      entries.emplace_back(i % c.experts, static_cast<std::int32_t>(pairs + i));
      entries.emplace_back((i + 1) % c.experts, -1 - i);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    routing.sorted_ids.clear();
    routing.expert_ids.clear();
    for (const auto& [e, p] : entries) {
      routing.expert_ids.push_back(e);
      routing.sorted_ids.push_back(p);
    }
  }
  if (c.shuffled) {
    std::vector<std::size_t> order(routing.sorted_ids.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<std::int32_t> ids, experts;
    for (std::size_t i : order) {
      ids.push_back(routing.sorted_ids[i]);
      experts.push_back(routing.expert_ids[i]);
    }
    routing.sorted_ids = std::move(ids);
    routing.expert_ids = std::move(experts);
  }
  ops.sorted_ids = std::move(routing.sorted_ids);
  ops.expert_ids = std::move(routing.expert_ids);
}

// GGUF blocks of uniformly random weights, quantized expert by expert on several threads.
std::vector<std::uint8_t> random_blocks(const Case& c, std::mt19937& rng) {
  const std::size_t per_expert = static_cast<std::size_t>(c.n) * c.k;
  const std::size_t expert_bytes = gguf_bytes(*c.format, per_expert);
  std::vector<std::uint8_t> blocks(expert_bytes * c.experts);
  std::vector<std::uint32_t> seeds(c.experts);
  for (auto& s : seeds) s = rng();
  std::atomic<int> next{0};
  auto worker = [&] {
    std::vector<float> values(per_expert);
    for (int e = next++; e < c.experts; e = next++) {
      std::mt19937 local(seeds[e]);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (float& v : values) v = u(local);
      quantize(*c.format, values,
               std::span<std::uint8_t>(blocks.data() + expert_bytes * e, expert_bytes));
    }
  };
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return blocks;
}

std::vector<std::uint16_t> random_bits(std::size_t count, ElementKind element, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::uint16_t> out(count);
  for (auto& b : out) b = ref::float_to_element(u(rng), element);
  return out;
}

template <class T>
DeviceBuffer upload(const std::vector<T>& host) {
  return DeviceBuffer::from(host);
}

}  // namespace

HostOperands make_operands(const Case& c) {
  std::mt19937 rng(c.seed * 2654435761u + static_cast<std::uint32_t>(c.k * 31 + c.n));
  HostOperands ops;
  ops.shape = ref::MoeShape{c.tokens, c.experts, c.top_k, c.n, c.k};
  const std::int64_t pairs = ops.shape.num_pairs();
  const std::size_t rows = static_cast<std::size_t>(c.weighted ? pairs : c.tokens);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  if (c.variant == MoeVariant::ScalarGguf) {
    ops.activations_f32.resize(rows * c.k);
    for (float& v : ops.activations_f32) v = u(rng);
  } else {
    ops.activations_bits = random_bits(rows * c.k, c.element, rng);
  }
  if (c.variant == MoeVariant::Wmma)
    ops.weight_bits = random_bits(static_cast<std::size_t>(c.experts) * c.n * c.k, c.element, rng);
  else
    ops.weight_blocks = random_blocks(c, rng);
  make_routing(c, rng, ops);
  if (c.weighted) {
    std::uniform_real_distribution<float> w(0.1f, 1.0f);
    ops.topk_weights.resize(static_cast<std::size_t>(pairs));
    for (float& v : ops.topk_weights) v = w(rng);
  }
  return ops;
}

void DeviceOperands::poison() {
  output.fill_nan(output_element);
  workspace.fill_bytes(0xA5);
}

DeviceOperands upload_operands(const Case& c, const HostOperands& ops,
                               std::size_t workspace_bytes) {
  DeviceOperands d;
  const bool f32_out = c.variant != MoeVariant::Wmma;
  const std::size_t out_count = static_cast<std::size_t>(ops.shape.num_pairs()) * c.n;
  d.activations = c.variant == MoeVariant::ScalarGguf ? upload(ops.activations_f32)
                                                      : upload(ops.activations_bits);
  d.weights = c.variant == MoeVariant::Wmma ? upload(ops.weight_bits) : upload(ops.weight_blocks);
  d.sorted_ids = upload(ops.sorted_ids);
  d.expert_ids = upload(ops.expert_ids);
  d.topk_weights = upload(ops.topk_weights);
  d.output = DeviceBuffer(out_count * (f32_out ? 4 : 2));
  d.workspace = DeviceBuffer(workspace_bytes);
  d.output_element = f32_out ? ElementKind::F32 : c.element;

  MoeArgs& a = d.args;
  a.activations = d.activations.get();
  a.activations_bytes = d.activations.bytes();
  a.sorted_ids = static_cast<const std::int32_t*>(d.sorted_ids.get());
  a.expert_ids = static_cast<const std::int32_t*>(d.expert_ids.get());
  a.size_m = ops.sorted_ids.size();
  if (c.weighted) {
    a.topk_weights = static_cast<const float*>(d.topk_weights.get());
    a.topk_weights_count = ops.topk_weights.size();
  }
  a.weights = d.weights.get();
  a.weights_bytes = d.weights.bytes();
  a.output = d.output.get();
  a.output_bytes = d.output.bytes();
  return d;
}

CheckResult check_device_output(const Case& c, const HostOperands& ops, const MoePlan& plan,
                                const DeviceOperands& device) {
  const ref::MoeDouble reference = ref::moe_double(ops.problem(c));
  const PrecisionGuarantee guarantee = plan.precision_guarantee();
  const std::size_t out_count = static_cast<std::size_t>(ops.shape.num_pairs()) * c.n;
  const std::uint32_t nan_bits = quiet_nan_bits(device.output_element);
  if (c.variant != MoeVariant::Wmma) {
    const std::vector<float> got = device.output.to_host<float>();
    float nan32;
    std::memcpy(&nan32, &nan_bits, sizeof(nan32));
    const std::vector<float> initial(out_count, nan32);
    return check_output(guarantee, reference, std::span<const float>(got),
                        std::span<const float>(initial));
  }
  const std::vector<std::uint16_t> got = device.output.to_host<std::uint16_t>();
  const std::vector<std::uint16_t> initial(out_count, static_cast<std::uint16_t>(nan_bits));
  return check_output(guarantee, reference, std::span<const std::uint16_t>(got),
                      std::span<const std::uint16_t>(initial));
}

RunOutcome run_case(const Case& c) {
  const MoePlan plan = MoePlan::select(c.descriptor());
  const HostOperands ops = make_operands(c);
  DeviceOperands device = upload_operands(c, ops, plan.workspace_size());
  // NaN in every output element, so an element the kernel fails to write is caught; garbage in
  // the workspace, so a kernel that relies on zeroed scratch is caught.
  device.poison();
  plan.run(nullptr, device.workspace.get(), device.workspace.bytes(), device.args);
  device_synchronize();
  return RunOutcome{check_device_output(c, ops, plan, device), plan.sku()};
}

void prewarm(const std::vector<Case>& cases) {
  if (!have_gpu()) return;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < cases.size(); i = next++) {
      try {
        MoePlan::select(cases[i].descriptor());
      } catch (const std::exception&) {
        // The test of this case selects again and reports the error.
      }
    }
  };
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
}

}  // namespace moejit::gputest
