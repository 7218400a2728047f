// CUDA-event timing of MoePlan runs for `moejit bench` and `moejit tune`.
#include "cli/gpu_timing.hpp"

#include <algorithm>

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

Timing time_plan(const MoePlan& plan, const DeviceProblem& device, int warmup, int iters) {
  DeviceStream stream;
  CallTimer timer(stream.get(), iters);
  const CallTiming t = timer.measure(warmup, iters, [&](int i) {
    plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(),
             device.args(static_cast<std::size_t>(i)));
  });
  return {sample_stats(t.back_to_back_us), median(t.alone_us)};
}

}  // namespace moejit::cli
