// The launch path of MoePlan::run: the steps of a launch plan bound to a module's functions, and
// their enqueueing with cuLaunchKernel (one MoeParams argument per kernel).
#pragma once

#include <cuda.h>

#include <cstddef>
#include <span>
#include <vector>

#include "codegen/kernel_template.hpp"
#include "runtime/module_cache.hpp"
#include "templates/moe_params.cuh"

namespace moejit {

// One launch, with its kernel resolved to an index into Artifact::kernels.
struct PreparedStep {
  std::size_t function = 0;
  LaunchDims dims;
  bool programmatic = false;  // KernelStep::programmatic
  bool waits_first = false;   // KernelStep::waits_first
};

// Resolves every step's name expression. Throws Error(Internal) for a name the module lacks.
std::vector<PreparedStep> prepare_steps(const KernelModule& module,
                                        std::span<const KernelStep> steps);

// Enqueues the steps in order on `stream`, each with `params` as its only argument. A
// programmatic step is launched with programmatic stream serialization (cuLaunchKernelEx) right
// after a step of the same call, or first when it waits before reading anything (waits_first:
// the helper, which may then be scheduled while the stream's previous kernel finishes); a main
// kernel never overlaps the caller's own kernels (it reads the routing and the weights before its
// in-kernel wait). Raises the
// dynamic shared-memory limit of a function the first time a step needs more than 48 KiB.
// Throws Error(CudaError) naming the kernel and the step, Error(Unsupported) for shared memory
// the device lacks. Never allocates, synchronises or copies: capturable into a CUDA graph.
void launch_steps(KernelModule& module, const LoadedModule& loaded,
                  std::span<const PreparedStep> steps, CUstream stream, const MoeParams& params);

}  // namespace moejit
