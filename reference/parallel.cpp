// Dynamic parallel loop of the CPU reference: an atomic counter hands out items to std::threads.
#include "reference/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace moejit::ref {
namespace {
// Work below which one more thread costs more to start than it saves.
constexpr double kMinWorkPerThread = 4.0e6;
constexpr unsigned kMaxThreads = 64;
}  // namespace

void parallel_for(std::size_t count, double cost_per_item,
                  const std::function<void(std::size_t)>& body) {
  if (count == 0) return;
  const double total = static_cast<double>(count) * std::max(cost_per_item, 1.0);
  const unsigned hw = std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
  const std::size_t by_work = static_cast<std::size_t>(std::max(1.0, total / kMinWorkPerThread));
  const std::size_t threads = std::min({static_cast<std::size_t>(hw), count, by_work});
  if (threads <= 1) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count || failed.load(std::memory_order_relaxed)) return;
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // fewer threads than asked for: the ones running share the items
    }
  }
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace moejit::ref
