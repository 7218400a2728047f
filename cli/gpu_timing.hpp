// How `moejit bench` and `moejit tune` time a plan on the GPU: operand copies that rotate the
// inputs out of L2, warm-up runs, then timed runs enqueued back to back between CUDA events.
#pragma once

#include <cstddef>
#include <vector>

#include "cli/gpu_problem.hpp"
#include "moejit/moe_plan.hpp"

namespace moejit::cli {

// Operand copies for runs that should find the activations and weights outside L2: enough that
// the bytes one run reads (`read_bytes`: the activations and the weights of the experts its
// routing touches) cover four L2 sizes of device `ordinal` over the rotation, at most 64 and at
// most what half the device's free memory holds at `copy_bytes` (all the operands) each; 1 when
// `rotate` is false or one run reads that much already.
int rotation_copies(std::size_t read_bytes, std::size_t copy_bytes, int ordinal, bool rotate);

struct Timing {
  std::vector<double> us;  // every timed run, in microseconds, in run order
  double median_us = 0;
  double min_us = 0;
  double mean_us = 0;
};

// `warmup` untimed runs, then `iters` runs (iters >= 1) each between a pair of CUDA events,
// every run enqueued before any is waited for, so the GPU never idles on the host and each pair
// brackets only that run's kernels. Run i uses operand copy i (DeviceProblem::args). Throws what
// MoePlan::run and the driver throw.
Timing time_plan(const MoePlan& plan, const DeviceProblem& device, int warmup, int iters);

}  // namespace moejit::cli
