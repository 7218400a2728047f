// CallTimer: CUDA events around each call, enqueued in batches behind a host gate.
#include "bench/gpu/timing.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>

#include "bench/gpu/driver_extras.hpp"
#include "runtime/driver.hpp"

namespace moejit::gpubench {
namespace {

// Calls enqueued behind one gate: each is two event records and one or two launches, far below
// the depth of a stream's launch queue, so enqueueing never blocks while the gate is closed.
constexpr int kBatch = 32;

struct Gate {
  std::atomic<bool> open{false};
};

void CUDA_CB wait_for_gate(void* gate) {
  const auto& g = *static_cast<const Gate*>(gate);
  while (!g.open.load(std::memory_order_acquire)) std::this_thread::yield();
}

// The gates of one measurement. Opens any still closed and waits for the stream on destruction,
// so no host function outlives its gate, also when a call throws.
class Gates {
 public:
  explicit Gates(CUstream stream) : stream_(stream) {}
  ~Gates() {
    for (Gate& g : gates_) g.open.store(true, std::memory_order_release);
    driver::api().cuStreamSynchronize(stream_);
  }
  Gates(const Gates&) = delete;
  Gates& operator=(const Gates&) = delete;
  // Enqueues a closed gate; returns it, or null when the driver cannot gate.
  Gate* close() {
    const LaunchHostFunc fn = launch_host_func();
    if (fn == nullptr) return nullptr;
    Gate& g = gates_.emplace_back();
    const CUresult r = fn(stream_, wait_for_gate, &g);
    if (r != CUDA_SUCCESS) {
      g.open.store(true, std::memory_order_release);
      driver::check(r, "cuLaunchHostFunc");
    }
    return &g;
  }

 private:
  CUstream stream_;
  std::deque<Gate> gates_;  // stable addresses
};

}  // namespace

CallTimer::CallTimer(CUstream stream, int max_calls) : stream_(stream) {
  const driver::Api& api = driver::api();
  for (int i = 0; i < max_calls; ++i) {
    CUevent start = nullptr, stop = nullptr;
    driver::check(api.cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate");
    starts_.push_back(start);
    driver::check(api.cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate");
    stops_.push_back(stop);
  }
}

CallTimer::~CallTimer() {
  const driver::Api& api = driver::api();
  for (CUevent e : starts_) api.cuEventDestroy(e);
  for (CUevent e : stops_) api.cuEventDestroy(e);
}

bool CallTimer::gated() const { return launch_host_func() != nullptr; }

Timing CallTimer::measure(int warmup, int iters, const std::function<void(int)>& call) {
  const driver::Api& api = driver::api();
  iters = std::min(iters, static_cast<int>(starts_.size()));
  for (int i = 0; i < warmup; ++i) call(i);
  driver::check(api.cuStreamSynchronize(stream_), "cuStreamSynchronize");

  Timing t;
  t.host_us.reserve(static_cast<std::size_t>(iters));
  {
    Gates gates(stream_);
    for (int first = 0; first < iters; first += kBatch) {
      Gate* gate = gates.close();
      const int last = std::min(iters, first + kBatch);
      for (int i = first; i < last; ++i) {
        const auto u = static_cast<std::size_t>(i);
        driver::check(api.cuEventRecord(starts_[u], stream_), "cuEventRecord");
        const auto begin = std::chrono::steady_clock::now();
        call(warmup + i);
        const auto end = std::chrono::steady_clock::now();
        driver::check(api.cuEventRecord(stops_[u], stream_), "cuEventRecord");
        t.host_us.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
      }
      if (gate != nullptr) gate->open.store(true, std::memory_order_release);
    }
  }
  t.device_us.reserve(static_cast<std::size_t>(iters));
  for (int i = 0; i < iters; ++i) {
    const auto u = static_cast<std::size_t>(i);
    driver::check(api.cuEventSynchronize(stops_[u]), "cuEventSynchronize");
    float ms = 0;
    driver::check(api.cuEventElapsedTime(&ms, starts_[u], stops_[u]), "cuEventElapsedTime");
    t.device_us.push_back(1000.0 * ms);
  }
  return t;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  if (values.size() % 2 == 1) return values[mid];
  const double upper = values[mid];
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

}  // namespace moejit::gpubench
