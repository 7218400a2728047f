// CUDA-event timing of MoePlan runs for `moejit bench` and `moejit tune`.
#include "cli/gpu_timing.hpp"

#include <algorithm>
#include <memory>
#include <numeric>

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
  for (int i = 0; i < warmup; ++i)
    plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(),
             device.args(static_cast<std::size_t>(i)));
  stream.synchronize();
  std::vector<std::unique_ptr<EventTimer>> timers;
  for (int i = 0; i < iters; ++i) timers.push_back(std::make_unique<EventTimer>());
  for (int i = 0; i < iters; ++i) {
    const MoeArgs a = device.args(static_cast<std::size_t>(warmup + i));
    timers[i]->start(stream.get());
    plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(), a);
    timers[i]->stop(stream.get());
  }
  stream.synchronize();
  Timing t;
  t.us.reserve(static_cast<std::size_t>(iters));
  for (const auto& timer : timers) t.us.push_back(1000.0 * timer->elapsed_ms());
  std::vector<double> sorted = t.us;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  t.median_us = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  t.min_us = sorted.front();
  t.mean_us = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
  return t;
}

}  // namespace moejit::cli
