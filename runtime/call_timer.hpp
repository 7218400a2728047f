// Timing calls on a stream with CUDA events, for `moejit bench`, `moejit tune` and the GPU
// benchmark. Not used on the run() path.
//
// Two figures per measurement:
//   - back to back: batches of calls enqueued with one pair of events around the whole batch,
//     time / calls. This is a call's cost in a stream of work (a model's layers one after the
//     other), and how llama.cpp's test-backend-ops (one graph holding the op many times) and
//     vLLM's MoE benchmark (one CUDA graph of ten calls) time their kernels.
//   - alone: a pair of events just before and after each call. The records themselves cost the
//     device time (on an H100 a pair around an empty kernel reads about 3.8 µs, against about
//     2 µs per empty kernel back to back), so short calls read longer this way.
// Either way every batch is enqueued behind a host gate (a host function that holds the stream
// until the whole batch is in it), so the device never waits for the host between calls.
#pragma once

#include <cuda.h>

#include <functional>
#include <vector>

namespace moejit {

struct CallTiming {
  std::vector<double> back_to_back_us;  // per batch: its events' interval / its calls
  std::vector<double> alone_us;         // per call: between events just before and after it
  std::vector<double> enqueue_us;       // per call of the alone phase: host time enqueueing it
};

class CallTimer {
 public:
  // Calls per back-to-back batch (the last batch of a measurement may hold fewer).
  static constexpr int kBackToBackBatch = 16;

  // Events for measurements of up to max_calls timed calls, in the current context.
  CallTimer(CUstream stream, int max_calls);
  ~CallTimer();
  CallTimer(const CallTimer&) = delete;
  CallTimer& operator=(const CallTimer&) = delete;

  // Runs call(i) for i in [0, warmup) untimed and synchronises, then min(iters, max_calls)
  // calls each between its own events (alone), then as many again in back-to-back batches; i
  // counts on through both phases, so a caller rotating operand copies by i keeps rotating.
  // Throws what call throws, and Error(CudaError).
  CallTiming measure(int warmup, int iters, const std::function<void(int)>& call);

  // The back-to-back phase alone: call(i) for i in [0, warmup) untimed, then min(iters,
  // max_calls) calls in back-to-back batches; returns CallTiming::back_to_back_us. For callers
  // that use no alone figure.
  std::vector<double> measure_back_to_back(int warmup, int iters,
                                           const std::function<void(int)>& call);

 private:
  // Runs `warmup` untimed calls from `next` on and synchronises.
  void warm_up(int warmup, int& next, const std::function<void(int)>& call);
  // `iters` calls from `next` on in back-to-back batches, one pair of events each.
  std::vector<double> back_to_back(int iters, int& next, const std::function<void(int)>& call);

  CUstream stream_;
  std::vector<CUevent> starts_, stops_;
};

// The median of a sample (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

// Median, minimum and mean of a sample; all 0 when empty.
struct SampleStats {
  double median = 0, min = 0, mean = 0;
};
SampleStats sample_stats(const std::vector<double>& values);

}  // namespace moejit
