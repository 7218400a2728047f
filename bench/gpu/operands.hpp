// Operands of the GPU benchmark: random routing, expert weights built from a pool of random rows,
// activations, and the buffer sets a point rotates between so that repeated calls miss in L2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/gpu/options.hpp"
#include "bench/gpu/peers.hpp"
#include "moejit/moe_plan.hpp"
#include "moejit/reference.hpp"
#include "runtime/device_memory.hpp"

namespace moejit::gpubench {

// Bytes of one weight row (K values) in a kernel's weight format.
std::size_t weight_row_bytes(const Shape& shape, const KernelConfig& kernel);
// Bytes of the activations [tokens, K] and of the output [tokens * top_k, N] of one call.
std::size_t activation_bytes(const Shape& shape, const KernelConfig& kernel, int tokens);
std::size_t output_bytes(const Shape& shape, const KernelConfig& kernel, int tokens);

// Experts a random routing is expected to touch: E * (1 - (1 - top_k / E)^tokens).
double expected_touched(const Shape& shape, int tokens);

// Bytes a call moves (the weights of every touched expert, activations, output) and its FLOPs.
double call_bytes(const Shape& shape, const KernelConfig& kernel, int tokens, double touched);
double call_flops(const Shape& shape, int tokens);

// How many buffer sets a point rotates between: 1 when one call's bytes exceed the L2 size, else
// enough sets that four L2s of other data pass between two uses of one set (at most 64).
int rotation_sets(double bytes, std::size_t l2_bytes);

// Every token picks top_k distinct random experts; the pairs sorted by expert (ref::make_routing).
struct HostRouting {
  ref::Routing routing;
  int touched = 0;  // distinct experts
};
// The routing of a point and set: the first of the draws seeded from seed that touches
// round(expected_touched) experts (the count the floors of shared/docs/performance.md assume), so
// one lucky or unlucky draw does not move a point by a whole expert's weights; the closest draw
// when none of 1000 does.
HostRouting random_routing(const Shape& shape, int tokens, std::uint32_t seed);

// Full expert weights [E, N, K] of a kernel's weight format as host bytes: 61 rows of uniform
// random values in [-1, 1) (quantized with the reference quantizer for GGUF formats, rounded to
// the element type for dense ones) repeated over the E * N rows, so experts differ.
std::vector<std::uint8_t> host_weights(const Shape& shape, const KernelConfig& kernel);

// Activations [tokens, K], uniform random in [-1, 1): f32 for ScalarGguf, element bits otherwise.
std::vector<std::uint8_t> host_activations(const Shape& shape, const KernelConfig& kernel,
                                           int tokens, std::uint32_t seed);

// Device copies of one weight format's full expert weights (one per buffer set that needs its
// own), uploaded from the host bytes they keep for the reference check.
class WeightCopies {
 public:
  WeightCopies(std::vector<std::uint8_t> host, int copies);
  const std::vector<std::uint8_t>& host() const { return host_; }
  const DeviceBuffer& copy(int set) const;
  int count() const { return static_cast<int>(copies_.size()); }

 private:
  std::vector<std::uint8_t> host_;
  std::vector<DeviceBuffer> copies_;
};

// One buffer set of a point: its routing, activations and output on the device.
struct DeviceSet {
  HostRouting routing;
  std::vector<std::uint8_t> activations_host;
  DeviceBuffer activations, sorted_ids, expert_ids, output;
};

// The buffer sets of one point (shape, kernel, token count) and the shared workspace.
class PointOperands {
 public:
  PointOperands(const Shape& shape, const KernelConfig& kernel, int tokens, int sets,
                std::size_t workspace_bytes);
  int sets() const { return static_cast<int>(sets_.size()); }
  const DeviceSet& set(int i) const { return sets_.at(static_cast<std::size_t>(i)); }
  DeviceSet& set(int i) { return sets_.at(static_cast<std::size_t>(i)); }
  // Mean distinct experts over the sets.
  double touched() const;
  // The arguments of a call on set i with the given weights (no top-k weights).
  MoeArgs args(int i, const WeightCopies& weights) const;
  void* workspace() const { return workspace_.get(); }
  std::size_t workspace_bytes() const { return workspace_.bytes(); }

 private:
  std::vector<DeviceSet> sets_;
  DeviceBuffer workspace_;
};

// The CPU reference problem of set 0 of a point (views into the operands' host bytes).
ref::MoeProblem reference_problem(const Shape& shape, const KernelConfig& kernel, int tokens,
                                  const DeviceSet& set, const std::vector<std::uint8_t>& weights);

}  // namespace moejit::gpubench
