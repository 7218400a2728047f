// The select phase of the GPU benchmark (every point's plan, compiled or loaded through the
// cache on a thread pool, with progress on stderr) and the host cost of select and run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "moejit/moe_plan.hpp"

namespace moejit::gpubench {

// A plan, or why select failed.
struct SelectedPlan {
  std::optional<MoePlan> plan;
  std::string error;
};

// Selects every descriptor's plan on up to 16 threads, printing progress to stderr. Never throws:
// failures are returned per descriptor.
std::vector<SelectedPlan> select_all(const std::vector<MoeDescriptor>& descriptors);

// Median host µs of MoePlan::select for a plan already in the cache, over `calls` calls.
double select_cached_us(const MoeDescriptor& descriptor, int calls);

}  // namespace moejit::gpubench
