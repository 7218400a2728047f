// Problem options, plan requests and random operands for `moejit verify` and `moejit bench`.
#include "cli/gpu_problem.hpp"

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <thread>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_checks.hpp"

namespace moejit::cli {

void add_problem_options(po::options_description& desc) {
  desc.add_options()                                                                       //
      ("tokens,t", po::value<int>()->value_name("T")->default_value(16), "tokens")         //
      ("experts,e", po::value<int>()->value_name("E")->default_value(8), "experts")        //
      ("top-k", po::value<int>()->value_name("K")->default_value(2), "experts per token")  //
      ("n", po::value<int>()->value_name("N"),
       "output width per expert, d_expert (default: the spec's n=, else 1024)")  //
      ("k", po::value<int>()->value_name("K"),
       "input width, d_model (default: the spec's k=, else 2048)")                        //
      ("weights", "pass top-k weights (the default): activations per pair, rows scaled")  //
      ("no-weights", "pass no top-k weights: activations per token, scale 1")             //
      ("prefill", "use the prefill tile family (default when tokens > 64)")               //
      ("decode", "use the decode tile family (default when tokens <= 64)")                //
      ("seed", po::value<std::uint32_t>()->value_name("S")->default_value(1),
       "seed of the random operands");
}

std::string problem_options_help() {
  return "The problem: T tokens, each routed to top-k distinct random experts of E; expert\n"
         "weights [E, N, K] and activations uniform in [-1, 1] (GGUF weights quantized from such\n"
         "values), top-k weights in [0.1, 1]. Run through MoePlan: select with the spec's\n"
         "variant, format and element type, its architecture (else GPU 0's), its tile when it\n"
         "names one (parts it leaves out from the default tile select picks; with no tile part\n"
         "select picks the whole tile), and n= / k= compiled in when the spec has them.\n";
}

ProblemOptions read_problem_options(const po::variables_map& vm, const SpecText& spec,
                                    const CommandHelp& help, const po::options_description& desc) {
  ProblemOptions o;
  o.tokens = vm["tokens"].as<int>();
  o.experts = vm["experts"].as<int>();
  o.top_k = vm["top-k"].as<int>();
  o.seed = vm["seed"].as<std::uint32_t>();
  o.n = spec.const_n.value_or(1024);
  o.k = spec.const_k.value_or(2048);
  for (const char* dim : {"n", "k"}) {
    if (!vm.count(dim)) continue;
    const int value = vm[dim].as<int>();
    const auto& compiled = dim[0] == 'n' ? spec.const_n : spec.const_k;
    if (compiled && *compiled != value)
      usage_error(help, desc,
                  std::string("--") + dim + " " + std::to_string(value) +
                      " contradicts the spec's " + dim + "=" + std::to_string(*compiled) +
                      " (the size compiled into the kernel)");
    (dim[0] == 'n' ? o.n : o.k) = value;
  }
  if (o.tokens < 1) usage_error(help, desc, "--tokens must be at least 1");
  if (o.experts < 1) usage_error(help, desc, "--experts must be at least 1");
  if (o.top_k < 1 || o.top_k > o.experts)
    usage_error(help, desc, "--top-k must be in [1, --experts]");
  if (o.n < 1 || o.k < 1) usage_error(help, desc, "--n and --k must be at least 1");
  if (vm.count("weights") && vm.count("no-weights"))
    usage_error(help, desc, "give --weights or --no-weights, not both");
  o.weighted = vm.count("no-weights") == 0;
  if (vm.count("prefill") && vm.count("decode"))
    usage_error(help, desc, "give --prefill or --decode, not both");
  o.prefill = vm.count("prefill") ? true : vm.count("decode") ? false : o.tokens > 64;
  return o;
}

PlanRequest plan_request(const SpecText& spec, const ProblemOptions& o) {
  PlanRequest r;
  MoeDescriptor& d = r.descriptor;
  d.num_tokens = o.tokens;
  d.num_experts = o.experts;
  d.top_k = o.top_k;
  d.d_model = o.k;
  d.d_expert = o.n;
  d.variant = spec.variant;
  d.block_format = spec.format;
  d.element = spec.element.value_or(spec.variant == MoeVariant::ScalarGguf ? ElementKind::F32
                                                                           : ElementKind::F16);
  d.is_prefill = o.prefill;
  if (spec.arch) r.preference.arch = spec.arch->to_string();
  r.preference.specialize_sizes = spec.const_n.has_value() || spec.const_k.has_value();
  if (spec.tile || spec.warps || spec.stages || spec.reg_weights) {
    // The parts the spec leaves out come from the tile select would pick for this problem.
    plan_checks::validate_descriptor(d);
    const GpuArch arch = spec.arch ? *spec.arch : driver::device_arch(0);
    const Tile t = plan_checks::make_spec(d, arch, false).tile;
    TileRequest tile{t.bm, t.bn, t.bk, t.warps, t.stages, spec.reg_weights};
    if (spec.tile) {
      tile.bm = spec.tile->bm;
      tile.bn = spec.tile->bn;
      tile.bk = spec.tile->bk;
    }
    if (spec.warps) tile.warps = *spec.warps;
    if (spec.stages) tile.stages = *spec.stages;
    d.tile = tile;
  }
  return r;
}

std::string describe_problem(const ProblemOptions& o) {
  std::ostringstream s;
  s << "T=" << o.tokens << " E=" << o.experts << " top_k=" << o.top_k << " N=" << o.n
    << " K=" << o.k << ", " << (o.weighted ? "top-k weights" : "no top-k weights") << ", "
    << (o.prefill ? "prefill" : "decode") << ", seed " << o.seed;
  return s.str();
}

namespace {

std::vector<std::uint16_t> random_bits(std::size_t count, ElementKind element, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::uint16_t> out(count);
  for (auto& b : out) b = ref::float_to_element(u(rng), element);
  return out;
}

// Quantized random weights, expert by expert on every core.
std::vector<std::uint8_t> random_blocks(GgufBlockFormat format, int experts, int n, int k,
                                        std::mt19937& rng) {
  const std::size_t per_expert = static_cast<std::size_t>(n) * k;
  const std::size_t expert_bytes = gguf_bytes(format, per_expert);
  std::vector<std::uint8_t> blocks(expert_bytes * experts);
  std::vector<std::uint32_t> seeds(experts);
  for (auto& s : seeds) s = rng();
  std::atomic<int> next{0};
  auto worker = [&] {
    std::vector<float> values(per_expert);
    for (int e = next++; e < experts; e = next++) {
      std::mt19937 local(seeds[e]);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (float& v : values) v = u(local);
      quantize(format, values,
               std::span<std::uint8_t>(blocks.data() + expert_bytes * e, expert_bytes));
    }
  };
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 32u);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads && static_cast<int>(i) < experts; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return blocks;
}

}  // namespace

HostProblem make_host_problem(const MoeDescriptor& d, const ProblemOptions& o) {
  if (d.block_format && o.k % block_layout(*d.block_format).block_elems != 0)
    throw Error(ErrorCode::InvalidProblem,
                "--k " + std::to_string(o.k) + " is not a multiple of the " +
                    std::string(format_name(*d.block_format)) + " block size " +
                    std::to_string(block_layout(*d.block_format).block_elems));
  std::mt19937 rng(o.seed);
  HostProblem p;
  p.shape = ref::MoeShape{o.tokens, o.experts, o.top_k, o.n, o.k};
  const std::size_t pairs = static_cast<std::size_t>(p.shape.num_pairs());
  const std::size_t rows = o.weighted ? pairs : static_cast<std::size_t>(o.tokens);
  if (d.variant == MoeVariant::ScalarGguf) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    p.activations_f32.resize(rows * o.k);
    for (float& v : p.activations_f32) v = u(rng);
  } else {
    p.activations_bits = random_bits(rows * o.k, d.element, rng);
  }
  if (d.variant == MoeVariant::Wmma)
    p.weight_bits = random_bits(static_cast<std::size_t>(o.experts) * o.n * o.k, d.element, rng);
  else
    p.weight_blocks = random_blocks(*d.block_format, o.experts, o.n, o.k, rng);

  // top_k distinct random experts per token, in a draw touching the expected number of experts
  // (as the GPU benchmark routes, so that bench and tune time what it times).
  const std::vector<std::int32_t> topk_ids =
      ref::typical_topk_ids(o.experts, o.top_k, o.tokens, o.seed, &p.touched_experts);
  p.routing = ref::make_routing(topk_ids, o.experts);
  if (o.weighted) {
    std::uniform_real_distribution<float> w(0.1f, 1.0f);
    p.topk_weights.resize(pairs);
    for (float& v : p.topk_weights) v = w(rng);
  }
  return p;
}

namespace {

// The first `tokens` tokens of `host`'s activations and top-k weights on its weights, routed by
// topk_ids (tokens * top_k experts).
HostProblem prefix_problem(const HostProblem& host, int tokens,
                           const std::vector<std::int32_t>& topk_ids) {
  HostProblem p;
  p.shape = host.shape;
  p.shape.num_tokens = tokens;
  const std::size_t pairs = static_cast<std::size_t>(p.shape.num_pairs());
  const bool weighted = !host.topk_weights.empty();
  const std::size_t rows = weighted ? pairs : static_cast<std::size_t>(tokens);
  const std::size_t k = static_cast<std::size_t>(host.shape.k);
  if (!host.activations_f32.empty())
    p.activations_f32.assign(host.activations_f32.begin(),
                             host.activations_f32.begin() + static_cast<std::ptrdiff_t>(rows * k));
  if (!host.activations_bits.empty())
    p.activations_bits.assign(
        host.activations_bits.begin(),
        host.activations_bits.begin() + static_cast<std::ptrdiff_t>(rows * k));
  p.weight_blocks = host.weight_blocks;
  p.weight_bits = host.weight_bits;
  p.routing = ref::make_routing(topk_ids, host.shape.num_experts);
  p.touched_experts =
      static_cast<int>(std::set<std::int32_t>(topk_ids.begin(), topk_ids.end()).size());
  if (weighted)
    p.topk_weights.assign(host.topk_weights.begin(),
                          host.topk_weights.begin() + static_cast<std::ptrdiff_t>(pairs));
  return p;
}

void require_tokens(const HostProblem& host, int tokens, const char* what) {
  if (tokens < 1 || tokens > host.shape.num_tokens)
    throw Error(ErrorCode::Internal, std::string(what) + ": " + std::to_string(tokens) +
                                         " tokens asked of a problem with " +
                                         std::to_string(host.shape.num_tokens));
}

}  // namespace

HostProblem first_tokens(const HostProblem& host, int tokens) {
  require_tokens(host, tokens, "first_tokens");
  // Pair p's expert, from the routed entries; then the routing of the first pairs only.
  const std::size_t pairs = static_cast<std::size_t>(tokens) * host.shape.top_k;
  std::vector<std::int32_t> topk_ids(pairs, 0);
  for (std::size_t i = 0; i < host.routing.sorted_ids.size(); ++i) {
    const auto pair = static_cast<std::size_t>(host.routing.sorted_ids[i]);
    if (pair < pairs) topk_ids[pair] = host.routing.expert_ids[i];
  }
  return prefix_problem(host, tokens, topk_ids);
}

HostProblem typical_tokens(const HostProblem& host, int tokens, std::uint32_t seed) {
  require_tokens(host, tokens, "typical_tokens");
  return prefix_problem(
      host, tokens, ref::typical_topk_ids(host.shape.num_experts, host.shape.top_k, tokens, seed));
}

ref::MoeProblem HostProblem::reference_problem(const MoeDescriptor& d) const {
  std::optional<std::span<const float>> weights;
  if (!topk_weights.empty()) weights = std::span<const float>(topk_weights);
  const ref::RoutedPairs pairs = routing.pairs(weights);
  switch (d.variant) {
    case MoeVariant::ScalarGguf:
      return ref::scalar_gguf_problem(shape, *d.block_format, activations_f32, weight_blocks,
                                      pairs);
    case MoeVariant::Wmma:
      return ref::wmma_problem(shape, d.element, activations_bits, weight_bits, pairs);
    case MoeVariant::WmmaGguf:
      break;
  }
  return ref::wmma_gguf_problem(shape, d.element, *d.block_format, activations_bits, weight_blocks,
                                pairs);
}

std::size_t HostProblem::activation_bytes() const {
  return activations_f32.size() * sizeof(float) + activations_bits.size() * sizeof(std::uint16_t);
}

std::size_t HostProblem::weight_bytes() const {
  return weight_blocks.size() + weight_bits.size() * sizeof(std::uint16_t);
}

std::size_t HostProblem::touched_weight_bytes() const {
  const auto experts = static_cast<std::size_t>(std::max<std::int64_t>(1, shape.num_experts));
  return weight_bytes() / experts * static_cast<std::size_t>(touched_experts);
}

std::size_t HostProblem::read_bytes() const { return activation_bytes() + touched_weight_bytes(); }

MoeArgs DeviceProblem::args(std::size_t copy) const {
  MoeArgs a = base;
  const DeviceBuffer& act = activations[copy % activations.size()];
  const DeviceBuffer& w = weights[copy % weights.size()];
  a.activations = act.get();
  a.activations_bytes = act.bytes();
  a.weights = w.get();
  a.weights_bytes = w.bytes();
  return a;
}

DeviceProblem upload_problem(const HostProblem& host, const MoePlan& plan, int copies) {
  DeviceProblem d;
  for (int c = 0; c < std::max(1, copies); ++c) {
    if (!host.activations_f32.empty())
      d.activations.push_back(DeviceBuffer::from(host.activations_f32));
    else
      d.activations.push_back(DeviceBuffer::from(host.activations_bits));
    if (!host.weight_blocks.empty())
      d.weights.push_back(DeviceBuffer::from(host.weight_blocks));
    else
      d.weights.push_back(DeviceBuffer::from(host.weight_bits));
  }
  d.sorted_ids = DeviceBuffer::from(host.routing.sorted_ids);
  d.expert_ids = DeviceBuffer::from(host.routing.expert_ids);
  if (!host.topk_weights.empty()) d.topk_weights = DeviceBuffer::from(host.topk_weights);
  const bool f32_out = plan.descriptor().variant != MoeVariant::Wmma;
  d.output_bytes = static_cast<std::size_t>(host.shape.num_pairs()) * host.shape.n *
                   (f32_out ? sizeof(float) : sizeof(std::uint16_t));
  d.output = DeviceBuffer(d.output_bytes);
  d.workspace = DeviceBuffer(std::max<std::size_t>(plan.workspace_size(), 16));

  MoeArgs& a = d.base;
  a.sorted_ids = static_cast<const std::int32_t*>(d.sorted_ids.get());
  a.expert_ids = static_cast<const std::int32_t*>(d.expert_ids.get());
  a.size_m = host.routing.sorted_ids.size();
  if (!host.topk_weights.empty()) {
    a.topk_weights = static_cast<const float*>(d.topk_weights.get());
    a.topk_weights_count = host.topk_weights.size();
  }
  a.output = d.output.get();
  a.output_bytes = d.output_bytes;
  return d;
}

CheckResult run_and_check(const MoePlan& plan, const MoeDescriptor& d, const HostProblem& host,
                          DeviceProblem& device) {
  const bool f32_out = d.variant != MoeVariant::Wmma;
  device.output.fill_nan(f32_out ? ElementKind::F32 : d.element);
  device.workspace.fill_bytes(0xA5);
  DeviceStream stream;
  plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(), device.args(0));
  stream.synchronize();
  const ref::MoeDouble reference = ref::moe_double(host.reference_problem(d));
  const PrecisionGuarantee guarantee = plan.precision_guarantee();
  return f32_out ? check_output(guarantee, reference, device.output.to_host<float>())
                 : check_output(guarantee, reference, device.output.to_host<std::uint16_t>());
}

nlohmann::json run_json(const std::string& command, const std::string& spec, const MoePlan& plan,
                        int ordinal, const ProblemOptions& options) {
  return {{"command", command},
          {"spec", spec},
          {"kernel", plan.sku()},
          {"device", driver::device_name(ordinal)},
          {"device_arch", driver::device_arch(ordinal).to_string()},
          {"problem",
           {{"tokens", options.tokens},
            {"experts", options.experts},
            {"top_k", options.top_k},
            {"n", options.n},
            {"k", options.k},
            {"weighted", options.weighted},
            {"prefill", options.prefill},
            {"seed", options.seed}}}};
}

}  // namespace moejit::cli
