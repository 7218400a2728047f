// make_routing: the router's topk_ids flattened to pairs and sorted by expert (a stable counting
// sort, so pairs of one expert stay in ascending order); typical_topk_ids: random router choices
// that touch the expected number of experts (the routing of the benchmarks and of `moejit tune`).
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <utility>

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

double expected_touched_experts(int num_experts, int top_k, int tokens) {
  if (num_experts <= 0 || tokens <= 0) return 0.0;
  const double miss = 1.0 - static_cast<double>(top_k) / num_experts;
  return num_experts * (1.0 - std::pow(miss, tokens));
}

namespace {

constexpr std::uint32_t kRoutingDraws = 1000;

// One draw: every token picks top_k distinct random experts; returns the distinct count.
int draw_topk_ids(int num_experts, int top_k, int tokens, std::uint32_t seed,
                  std::vector<std::int32_t>& topk_ids) {
  std::mt19937 rng(seed);
  std::vector<std::int32_t> experts(static_cast<std::size_t>(num_experts));
  for (int e = 0; e < num_experts; ++e) experts[static_cast<std::size_t>(e)] = e;
  topk_ids.clear();
  topk_ids.reserve(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(top_k));
  std::vector<bool> seen(static_cast<std::size_t>(num_experts), false);
  int touched = 0;
  for (int t = 0; t < tokens; ++t) {
    // A partial Fisher-Yates shuffle: the first top_k entries are distinct random experts.
    for (int j = 0; j < top_k; ++j) {
      std::uniform_int_distribution<int> pick(j, num_experts - 1);
      std::swap(experts[static_cast<std::size_t>(j)], experts[static_cast<std::size_t>(pick(rng))]);
      const std::int32_t e = experts[static_cast<std::size_t>(j)];
      topk_ids.push_back(e);
      if (!seen[static_cast<std::size_t>(e)]) {
        seen[static_cast<std::size_t>(e)] = true;
        ++touched;
      }
    }
  }
  return touched;
}

}  // namespace

std::vector<std::int32_t> typical_topk_ids(int num_experts, int top_k, int tokens,
                                           std::uint32_t seed, int* touched) {
  if (top_k < 1 || top_k > num_experts || tokens < 0)
    throw Error(ErrorCode::InvalidProblem,
                "a routing needs 1 <= top_k <= num_experts and tokens >= 0, not top_k " +
                    std::to_string(top_k) + ", " + std::to_string(num_experts) + " experts, " +
                    std::to_string(tokens) + " tokens");
  const int want =
      static_cast<int>(std::lround(expected_touched_experts(num_experts, top_k, tokens)));
  std::vector<std::int32_t> best;
  int best_touched = draw_topk_ids(num_experts, top_k, tokens, seed, best);
  std::vector<std::int32_t> ids;
  for (std::uint32_t i = 1; i < kRoutingDraws && best_touched != want; ++i) {
    const int n = draw_topk_ids(num_experts, top_k, tokens, seed + i * 0x9E3779B9u, ids);
    if (std::abs(n - want) < std::abs(best_touched - want)) {
      best_touched = n;
      best.swap(ids);
    }
  }
  if (touched != nullptr) *touched = best_touched;
  return best;
}

}  // namespace moejit::ref
