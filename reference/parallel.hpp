// A minimal dynamic parallel loop over the hardware threads, for the CPU reference's work items.
#pragma once

#include <cstddef>
#include <functional>

namespace moejit::ref {

// Calls body(i) once for every i in [0, count), items handed out dynamically to up to
// std::thread::hardware_concurrency() threads (the caller's thread included). Runs serially when
// count * cost_per_item (any unit of work, e.g. multiply-adds) is too small to pay for threads.
// The first exception a body throws is rethrown after every thread has stopped.
void parallel_for(std::size_t count, double cost_per_item,
                  const std::function<void(std::size_t)>& body);

}  // namespace moejit::ref
