// What a selected MoePlan holds (internal): the spec, the artifact, the module shared across
// plans, and everything run() can precompute. PlanAccess exposes it to the CLI, tests and benches.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "cache/artifact.hpp"
#include "codegen/kernel_spec.hpp"
#include "codegen/kernel_template.hpp"
#include "moejit/moe_plan.hpp"
#include "runtime/launcher.hpp"
#include "runtime/module_cache.hpp"
#include "runtime/plan_checks.hpp"
#include "templates/moe_params.cuh"

namespace moejit {

// The launches and workspace layout of one call shape.
struct PreparedCall {
  std::vector<PreparedStep> steps;
  WorkspaceLayout layout;
};

// The most recent call whose entry count differs from P (padded routing), kept for reuse.
struct OtherCall {
  std::size_t size_m = 0;
  bool weighted = false;
  PreparedCall call;
};

struct MoePlan::State {
  MoeDescriptor descriptor;
  int device = 0;  // ordinal run() makes current when no context is
  KernelSpec spec;
  std::shared_ptr<const Artifact> artifact;
  std::shared_ptr<KernelModule> module;
  plan_checks::OperandSizes sizes;
  // The calls with size_m = P entries, with and without top-k weights.
  PreparedCall weighted;
  PreparedCall unweighted;
  std::size_t workspace_bytes = 0;
  MoeParams base{};  // every field that does not depend on the call's pointers
  mutable std::atomic<std::shared_ptr<const OtherCall>> last_other;
};

struct PlanAccess {
  static const MoePlan::State& state(const MoePlan& plan) { return *plan.state_; }
};

inline const KernelSpec& plan_spec(const MoePlan& plan) { return PlanAccess::state(plan).spec; }
inline const Artifact& plan_artifact(const MoePlan& plan) {
  return *PlanAccess::state(plan).artifact;
}

}  // namespace moejit
