// CUDA-event timing of MoePlan runs for `moejit bench` and `moejit tune`.
#include "cli/gpu_timing.hpp"

#include <algorithm>
#include <functional>

#include "runtime/device_memory.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli {

int rotation_copies(std::size_t read_bytes, std::size_t copy_bytes, int ordinal, bool rotate) {
  if (!rotate || read_bytes == 0) return 1;
  const auto l2 = static_cast<std::size_t>(
      driver::device_attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, ordinal));
  if (read_bytes >= 4 * l2) return 1;
  std::size_t copies = std::min<std::size_t>(64, (4 * l2 + read_bytes - 1) / read_bytes);
  std::size_t free_bytes = 0, total_bytes = 0;
  driver::check(driver::api().cuMemGetInfo(&free_bytes, &total_bytes), "cuMemGetInfo");
  if (copy_bytes > 0) copies = std::min(copies, free_bytes / 2 / copy_bytes);
  return static_cast<int>(std::max<std::size_t>(1, copies));
}

namespace {

// Run i of a timing: the plan on operand copy i, on `stream`.
std::function<void(int)> plan_call(const MoePlan& plan, const DeviceProblem& device,
                                   const DeviceStream& stream) {
  return [&plan, &device, &stream](int i) {
    plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(),
             device.args(static_cast<std::size_t>(i)));
  };
}

}  // namespace

Timing time_plan(const MoePlan& plan, const DeviceProblem& device, int warmup, int iters) {
  const DeviceStream stream;
  CallTimer timer(stream.get(), iters);
  const CallTiming t = timer.measure(warmup, iters, plan_call(plan, device, stream));
  return {sample_stats(t.back_to_back_us), median(t.alone_us)};
}

SampleStats time_plan_back_to_back(const MoePlan& plan, const DeviceProblem& device, int warmup,
                                   int iters) {
  const DeviceStream stream;
  CallTimer timer(stream.get(), iters);
  return sample_stats(timer.measure_back_to_back(warmup, iters, plan_call(plan, device, stream)));
}

}  // namespace moejit::cli
