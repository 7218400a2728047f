// Single-flight in-memory artifact map.
#include "cache/memory_cache.hpp"

#include <optional>
#include <stdexcept>

namespace moejit {

MemoryCache::Ptr MemoryCache::find(const std::string& digest) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(digest);
  return it == slots_.end() ? nullptr : it->second.ready;
}

MemoryCache::Ptr MemoryCache::get_or_produce(const std::string& digest,
                                             const std::function<Ptr()>& produce,
                                             bool* ran_producer, bool* waited) {
  if (ran_producer) *ran_producer = false;
  if (waited) *waited = false;
  std::optional<std::promise<Ptr>> promise;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = slots_.find(digest);
    if (it != slots_.end()) {
      if (it->second.ready) return it->second.ready;
      std::shared_future<Ptr> f = it->second.in_flight;
      lock.unlock();
      if (waited) *waited = true;
      return f.get();  // rethrows the producer's exception
    }
    promise.emplace();
    slots_[digest].in_flight = promise->get_future().share();
  }
  if (ran_producer) *ran_producer = true;
  Ptr result;
  try {
    result = produce();
    if (!result) throw std::logic_error("artifact producer returned null");
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      slots_.erase(digest);
    }
    promise->set_exception(std::current_exception());
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& s = slots_[digest];
    s.ready = result;
    s.in_flight = {};
  }
  promise->set_value(result);
  return result;
}

MemoryCache::Ptr MemoryCache::insert(const std::string& digest, Ptr artifact) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& s = slots_[digest];
  if (s.ready) return s.ready;
  if (!s.in_flight.valid()) s.ready = std::move(artifact);
  return s.ready ? s.ready : artifact;
}

void MemoryCache::erase(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(digest);
  if (it != slots_.end() && it->second.ready) slots_.erase(it);
}

void MemoryCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->second.ready)
      it = slots_.erase(it);
    else
      ++it;
  }
}

std::size_t MemoryCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& [k, s] : slots_) n += s.ready ? 1 : 0;
  return n;
}

}  // namespace moejit
