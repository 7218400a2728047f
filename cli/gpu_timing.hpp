// How `moejit bench` and `moejit tune` time a plan on the GPU: operand copies that rotate the
// inputs out of L2, warm-up runs, then timed runs through CallTimer (runtime/call_timer.hpp).
#pragma once

#include <cstddef>
#include <vector>

#include "cli/gpu_problem.hpp"
#include "moejit/moe_plan.hpp"
#include "runtime/call_timer.hpp"

namespace moejit::cli {

// Operand copies for runs that should find the activations and weights outside L2: enough that
// the bytes one run reads (`read_bytes`: the activations and the weights of the experts its
// routing touches) cover four L2 sizes of device `ordinal` over the rotation, at most 64 and at
// most what half the device's free memory holds at `copy_bytes` (all the operands) each; 1 when
// `rotate` is false or one run reads that much already.
int rotation_copies(std::size_t read_bytes, std::size_t copy_bytes, int ordinal, bool rotate);

struct Timing {
  SampleStats back_to_back;    // µs per run, runs back to back (batches between a pair of events)
  double alone_median_us = 0;  // µs per run, each run between its own pair of events
};

// `warmup` untimed runs, then `iters` runs (iters >= 1) each between its own pair of CUDA events
// and `iters` more in back-to-back batches (CallTimer::measure). Run i uses operand copy i
// (DeviceProblem::args). Throws what MoePlan::run and the driver throw.
Timing time_plan(const MoePlan& plan, const DeviceProblem& device, int warmup, int iters);

// The back-to-back runs of time_plan only (no alone phase): what `moejit tune` ranks by.
SampleStats time_plan_back_to_back(const MoePlan& plan, const DeviceProblem& device, int warmup,
                                   int iters);

}  // namespace moejit::cli
