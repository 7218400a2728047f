// make_routing: the router's topk_ids flattened to pairs and sorted by expert (a stable counting
// sort, so pairs of one expert stay in ascending order).
#include <limits>
#include <string>

#include "moejit/error.hpp"
#include "moejit/reference.hpp"

namespace moejit::ref {

Routing make_routing(std::span<const std::int32_t> topk_ids, int num_experts) {
  if (num_experts <= 0)
    throw Error(ErrorCode::InvalidProblem,
                "num_experts is " + std::to_string(num_experts) + "; use > 0");
  if (topk_ids.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw Error(ErrorCode::InvalidProblem, "topk_ids has " + std::to_string(topk_ids.size()) +
                                               " pairs, beyond the int32 range of pair ids");

  std::vector<std::size_t> start(static_cast<std::size_t>(num_experts) + 1, 0);
  for (std::size_t p = 0; p < topk_ids.size(); ++p) {
    const std::int32_t e = topk_ids[p];
    if (e < 0 || e >= num_experts)
      throw Error(ErrorCode::InvalidProblem,
                  "topk_ids[" + std::to_string(p) + "] = " + std::to_string(e) +
                      " is not an expert in [0, " + std::to_string(num_experts) +
                      "); the router must emit valid expert ids");
    ++start[static_cast<std::size_t>(e) + 1];
  }
  for (std::size_t e = 0; e + 1 < start.size(); ++e) start[e + 1] += start[e];

  Routing r;
  r.sorted_ids.resize(topk_ids.size());
  r.expert_ids.resize(topk_ids.size());
  for (std::size_t p = 0; p < topk_ids.size(); ++p) {
    const std::size_t at = start[static_cast<std::size_t>(topk_ids[p])]++;
    r.sorted_ids[at] = static_cast<std::int32_t>(p);
    r.expert_ids[at] = topk_ids[p];
  }
  return r;
}

}  // namespace moejit::ref
