// The plans MoePlan::select has built in this process, by everything a plan depends on, so that
// selecting the same problem again costs a lookup instead of the tile choice, the cache lookup
// and the launch preparation.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "codegen/kernel_spec.hpp"
#include "moejit/moe_plan.hpp"

namespace moejit {

class PlanMemo {
 public:
  // At most this many plans are kept; inserting past it starts the memo over.
  static constexpr std::size_t kMaxPlans = 4096;

  // The process-wide memo.
  static PlanMemo& instance();

  // The key of a select call: the descriptor, the preference (all of it but the stream, which
  // only decides whether a compile may run) and the target it resolved to (architecture and the
  // device ordinal the plan loads on). Knobs and the template bundle are fixed per process.
  static std::string key(const MoeDescriptor& d, const PlanPreference& p, const GpuArch& arch,
                         int device, bool arch_from_device);

  std::shared_ptr<const MoePlan::State> find(const std::string& key) const;
  void insert(const std::string& key, std::shared_ptr<const MoePlan::State> state);
  void clear();
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const MoePlan::State>> plans_;
};

}  // namespace moejit
