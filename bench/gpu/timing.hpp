// Timing calls on a stream with CUDA events: per-call device time and host enqueue time, with the
// stream held back by a host gate while a batch is enqueued so that the device never waits for
// the host between calls.
#pragma once

#include <cuda.h>

#include <functional>
#include <vector>

namespace moejit::gpubench {

struct Timing {
  std::vector<double> device_us;  // per timed call: between events just before and after it
  std::vector<double> host_us;    // per timed call: host time spent enqueueing it
};

class CallTimer {
 public:
  // Events for up to max_calls timed calls, in the current context.
  CallTimer(CUstream stream, int max_calls);
  ~CallTimer();
  CallTimer(const CallTimer&) = delete;
  CallTimer& operator=(const CallTimer&) = delete;

  // Runs call(i) for i in [0, warmup) untimed and synchronises, then times `iters` more calls
  // (i continues from warmup). Throws what call throws, and Error(CudaError).
  Timing measure(int warmup, int iters, const std::function<void(int)>& call);

  // Whether batches are gated (the driver has cuLaunchHostFunc); otherwise calls are timed as
  // they are enqueued, and short kernels may include the host's launch latency.
  bool gated() const;

 private:
  CUstream stream_;
  std::vector<CUevent> starts_, stops_;
};

// The median of a sample (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace moejit::gpubench
