// The process-wide memo of selected plans.
#include "runtime/plan_memo.hpp"

#include <utility>

namespace moejit {
namespace {

void add(std::string& out, long long v) {
  out += std::to_string(v);
  out += '|';
}

void add(std::string& out, const std::string& v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '|';
}

}  // namespace

PlanMemo& PlanMemo::instance() {
  static PlanMemo memo;
  return memo;
}

std::string PlanMemo::key(const MoeDescriptor& d, const PlanPreference& p, const GpuArch& arch,
                          int device, bool arch_from_device) {
  std::string k;
  k.reserve(128);
  add(k, d.num_tokens);
  add(k, d.num_experts);
  add(k, d.top_k);
  add(k, d.d_model);
  add(k, d.d_expert);
  add(k, static_cast<long long>(d.variant));
  add(k, d.block_format ? static_cast<long long>(*d.block_format) : -1);
  add(k, static_cast<long long>(d.element));
  add(k, d.is_prefill ? 1 : 0);
  if (d.tile) {
    add(k, d.tile->bm);
    add(k, d.tile->bn);
    add(k, d.tile->bk);
    add(k, d.tile->warps);
    add(k, d.tile->stages);
    add(k, d.tile->reg_weights ? 1 : 0);
  } else {
    add(k, -1);
  }
  add(k, p.arch ? *p.arch : std::string("-"));
  add(k, p.device ? *p.device : -1);
  add(k, p.specialize_sizes ? 1 : 0);
  add(k, p.tile_table ? *p.tile_table : std::string("-"));
  add(k, arch.to_string());
  add(k, device);
  add(k, arch_from_device ? 1 : 0);
  return k;
}

std::shared_ptr<const MoePlan::State> PlanMemo::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = plans_.find(key);
  return it == plans_.end() ? nullptr : it->second;
}

void PlanMemo::insert(const std::string& key, std::shared_ptr<const MoePlan::State> state) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(key, std::move(state));
}

void PlanMemo::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  plans_.clear();
}

std::size_t PlanMemo::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return plans_.size();
}

}  // namespace moejit
