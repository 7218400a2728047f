// Selecting the benchmark's plans in parallel, and timing select on a cached plan.
#include "bench/gpu/plans.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "runtime/call_timer.hpp"

namespace moejit::gpubench {

std::vector<SelectedPlan> select_all(const std::vector<MoeDescriptor>& descriptors) {
  std::vector<SelectedPlan> out(descriptors.size());
  const auto begin = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex progress;
  const std::size_t step = std::max<std::size_t>(1, descriptors.size() / 10);
  auto worker = [&] {
    for (std::size_t i = next++; i < descriptors.size(); i = next++) {
      try {
        out[i].plan = MoePlan::select(descriptors[i]);
      } catch (const std::exception& e) {
        out[i].error = e.what();
      }
      const std::lock_guard<std::mutex> lock(progress);
      ++done;
      if (!out[i].error.empty()) std::fprintf(stderr, "select failed: %s\n", out[i].error.c_str());
      if (done % step == 0 || done == descriptors.size()) {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        std::fprintf(stderr, "select: %zu/%zu plans ready (%.1f s)\n", done, descriptors.size(), s);
      }
    }
  };
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads && t < descriptors.size(); ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return out;
}

double select_cached_us(const MoeDescriptor& descriptor, int calls) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    const MoePlan plan = MoePlan::select(descriptor);
    const auto end = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
  }
  return median(std::move(us));
}

}  // namespace moejit::gpubench
