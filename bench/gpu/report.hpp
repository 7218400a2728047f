// Results of the GPU benchmark and their outputs: aligned text, markdown (docs/benchmarks.md),
// JSON, and the compact best-of-moejit against peer summary.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/gpu/options.hpp"
#include "bench/gpu/peers.hpp"

namespace moejit::gpubench {

// One kernel at one token count of one shape.
struct PointResult {
  Shape shape;
  KernelConfig kernel;
  int tokens = 0;
  std::string sku;  // the kernel key (tile included)
  int sets = 1;     // buffer sets rotated between
  double touched = 0;
  double bytes = 0;
  double flops = 0;
  double median_us = 0, min_us = 0, mean_us = 0;  // per call, calls back to back
  double alone_us = 0;  // median per call, each call between its own events
  // Back to back on one buffer set (its weights stay in L2 between calls, as in the peers'
  // runs); 0 when the point has one set (its operands do not fit in L2).
  double warm_us = 0;
  double enqueue_us = 0;  // median host time of one run() call
  double floor_us = 0;    // max(bytes / peak bandwidth, flops / peak throughput)
  std::optional<PeerTime> peer;
  std::string check;  // "" (not checked), or CheckResult::summary(): "PASS: ..." or "FAIL: ..."
  std::string error;  // why the point has no time (select or run failed)

  bool timed() const { return error.empty() && median_us > 0; }
};

// Host cost of the plan API for one kernel: select on a plan already in the cache, and run().
struct HostOverhead {
  std::string sku;
  std::string point;  // "qwen3-30b-a3b T=1"
  double select_us = 0;
  double run_us = 0;
};

struct Report {
  std::string device;
  std::string date;  // UTC, YYYY-MM-DD HH:MM
  std::string command;
  std::size_t l2_bytes = 0;
  int iters = 0;
  int warmup = 0;
  double select_seconds = 0;  // the select phase (compiles and cache loads)
  std::size_t distinct_kernels = 0;
  std::vector<PointResult> points;
  std::vector<HostOverhead> overheads;
};

void write_text(std::ostream& out, const Report& report);
void write_markdown(std::ostream& out, const Report& report);
// The best moejit kernel per weight format and token count against its peer, as text.
void write_summary(std::ostream& out, const Report& report);
// Throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const Report& report);

}  // namespace moejit::gpubench
