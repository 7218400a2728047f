// What `moejit verify`, `moejit bench` and `moejit tune` share: the problem options (--tokens,
// --experts,
// --top-k, --n, --k, --weights/--no-weights, --prefill/--decode, --seed), the MoeDescriptor and
// PlanPreference a spec and those options give, and fresh random operands on host and device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "moejit/moe_plan.hpp"
#include "moejit/precision.hpp"
#include "moejit/reference.hpp"
#include "runtime/device_memory.hpp"

namespace moejit::cli {

struct ProblemOptions {
  int tokens = 16;
  int experts = 8;
  int top_k = 2;
  int n = 1024;
  int k = 2048;
  bool weighted = true;
  bool prefill = false;
  std::uint32_t seed = 1;
};

void add_problem_options(po::options_description& desc);
std::string problem_options_help();

// The problem options of a command line; n and k default to the spec's n= and k= parts. Throws
// UsageError for a value out of range or contradicting the spec.
ProblemOptions read_problem_options(const po::variables_map& vm, const SpecText& spec,
                                    const CommandHelp& help, const po::options_description& desc);

// How MoePlan::select is asked for the spec's kernel: variant, format and element from the spec,
// the spec's architecture as PlanPreference::arch, its tile (parts left out taken from the
// default tile select would pick) pinned, n= / k= as specialize_sizes.
struct PlanRequest {
  MoeDescriptor descriptor;
  PlanPreference preference;
};
PlanRequest plan_request(const SpecText& spec, const ProblemOptions& options);

// "T=16 E=8 top_k=2 N=1024 K=2048, top-k weights, decode, seed 1".
std::string describe_problem(const ProblemOptions& options);

// Random operands: activations and weights uniform in [-1, 1] (GGUF weights quantized from
// such values), each token routed to top_k distinct random experts, top-k weights in [0.1, 1].
struct HostProblem {
  ref::MoeShape shape;
  std::vector<float> activations_f32;           // ScalarGguf
  std::vector<std::uint16_t> activations_bits;  // Wmma, WmmaGguf
  std::vector<std::uint8_t> weight_blocks;      // GGUF variants
  std::vector<std::uint16_t> weight_bits;       // Wmma
  ref::Routing routing;
  std::vector<float> topk_weights;  // empty when unweighted
  int touched_experts = 0;          // experts at least one pair is routed to

  ref::MoeProblem reference_problem(const MoeDescriptor& d) const;
  std::size_t activation_bytes() const;
  std::size_t weight_bytes() const;
  // The weights of the touched experts, and those plus the activations (what one run reads).
  std::size_t touched_weight_bytes() const;
  std::size_t read_bytes() const;
};

HostProblem make_host_problem(const MoeDescriptor& d, const ProblemOptions& options);

// The first `tokens` tokens of `host` (1 <= tokens <= host's): their activations, top-k weights
// and routed pairs, the same weights. Lets one set of random weights serve several token counts.
HostProblem first_tokens(const HostProblem& host, int tokens);

// `tokens` tokens on the weights of `host` (1 <= tokens <= host's): the first tokens' activations
// and top-k weights, routed by make_host_problem's draw for that token count with `seed` (top_k
// distinct experts per token, touching the expected number of experts), so that a point timed on
// it is routed as `moejit bench` and the GPU benchmark route it.
HostProblem typical_tokens(const HostProblem& host, int tokens, std::uint32_t seed);

// Operands on the current device. `copies` sets of activations and weights (for benchmarks that
// rotate inputs out of L2); args(i) points at set i.
struct DeviceProblem {
  std::vector<DeviceBuffer> activations, weights;
  DeviceBuffer sorted_ids, expert_ids, topk_weights, output, workspace;
  std::size_t output_bytes = 0;
  MoeArgs args(std::size_t copy) const;
  MoeArgs base;  // everything but activations and weights
};

DeviceProblem upload_problem(const HostProblem& host, const MoePlan& plan, int copies = 1);

// Runs `plan` once on operand copy 0 of `device` (uploaded from `host` for descriptor `d`), with
// the output filled with NaN and the workspace with a pattern first, and checks every output
// element against the CPU reference in double precision within the plan's precision guarantee.
CheckResult run_and_check(const MoePlan& plan, const MoeDescriptor& d, const HostProblem& host,
                          DeviceProblem& device);

// The fields verify and bench both report: command, spec, kernel, device and the problem.
nlohmann::json run_json(const std::string& command, const std::string& spec, const MoePlan& plan,
                        int ordinal, const ProblemOptions& options);

}  // namespace moejit::cli
