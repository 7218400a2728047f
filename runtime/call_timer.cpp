// CallTimer: CUDA events around each call and around back-to-back batches of calls, each batch
// enqueued behind a host gate.
#include "runtime/call_timer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <numeric>
#include <thread>

#include "runtime/driver.hpp"

namespace moejit {
namespace {

// Calls timed alone behind one gate: each is two event records and one or two launches, far below
// the depth of a stream's launch queue, so enqueueing never blocks while the gate is closed.
constexpr int kAloneBatch = 32;

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
  // Enqueues a closed gate and returns it.
  Gate& close() {
    Gate& g = gates_.emplace_back();
    const CUresult r = driver::api().cuLaunchHostFunc(stream_, wait_for_gate, &g);
    if (r != CUDA_SUCCESS) {
      g.open.store(true, std::memory_order_release);
      driver::check(r, "cuLaunchHostFunc");
    }
    return g;
  }

 private:
  CUstream stream_;
  std::deque<Gate> gates_;  // stable addresses
};

double elapsed_us(CUevent start, CUevent stop) {
  const driver::Api& api = driver::api();
  driver::check(api.cuEventSynchronize(stop), "cuEventSynchronize");
  float ms = 0;
  driver::check(api.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  return 1000.0 * ms;
}

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

void CallTimer::warm_up(int warmup, int& next, const std::function<void(int)>& call) {
  for (int i = 0; i < warmup; ++i) call(next++);
  driver::check(driver::api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

std::vector<double> CallTimer::back_to_back(int iters, int& next,
                                            const std::function<void(int)>& call) {
  const driver::Api& api = driver::api();
  std::vector<int> batch_calls;
  {
    Gates gates(stream_);
    for (int first = 0; first < iters; first += kBackToBackBatch) {
      Gate& gate = gates.close();
      const int calls = std::min(iters - first, kBackToBackBatch);
      const std::size_t u = batch_calls.size();
      driver::check(api.cuEventRecord(starts_[u], stream_), "cuEventRecord");
      for (int i = 0; i < calls; ++i) call(next++);
      driver::check(api.cuEventRecord(stops_[u], stream_), "cuEventRecord");
      batch_calls.push_back(calls);
      gate.open.store(true, std::memory_order_release);
    }
  }
  std::vector<double> per_call;
  per_call.reserve(batch_calls.size());
  for (std::size_t u = 0; u < batch_calls.size(); ++u)
    per_call.push_back(elapsed_us(starts_[u], stops_[u]) / batch_calls[u]);
  return per_call;
}

CallTiming CallTimer::measure(int warmup, int iters, const std::function<void(int)>& call) {
  const driver::Api& api = driver::api();
  iters = std::min(iters, static_cast<int>(starts_.size()));
  int next = 0;
  warm_up(warmup, next, call);

  CallTiming t;
  t.enqueue_us.reserve(static_cast<std::size_t>(iters));
  {
    Gates gates(stream_);
    for (int first = 0; first < iters; first += kAloneBatch) {
      Gate& gate = gates.close();
      const int last = std::min(iters, first + kAloneBatch);
      for (int i = first; i < last; ++i) {
        const auto u = static_cast<std::size_t>(i);
        driver::check(api.cuEventRecord(starts_[u], stream_), "cuEventRecord");
        const auto begin = std::chrono::steady_clock::now();
        call(next++);
        const auto end = std::chrono::steady_clock::now();
        driver::check(api.cuEventRecord(stops_[u], stream_), "cuEventRecord");
        t.enqueue_us.push_back(std::chrono::duration<double, std::micro>(end - begin).count());
      }
      gate.open.store(true, std::memory_order_release);
    }
  }
  t.alone_us.reserve(static_cast<std::size_t>(iters));
  for (std::size_t u = 0; u < static_cast<std::size_t>(iters); ++u)
    t.alone_us.push_back(elapsed_us(starts_[u], stops_[u]));

  // The same number of calls back to back (the event pairs are free again: every alone interval
  // has been read).
  t.back_to_back_us = back_to_back(iters, next, call);
  return t;
}

std::vector<double> CallTimer::measure_back_to_back(int warmup, int iters,
                                                    const std::function<void(int)>& call) {
  iters = std::min(iters, static_cast<int>(starts_.size()));
  int next = 0;
  warm_up(warmup, next, call);
  return back_to_back(iters, next, call);
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

SampleStats sample_stats(const std::vector<double>& values) {
  SampleStats s;
  if (values.empty()) return s;
  s.median = median(values);
  s.min = *std::min_element(values.begin(), values.end());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  return s;
}

}  // namespace moejit
