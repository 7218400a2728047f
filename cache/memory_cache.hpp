// Process-wide in-memory level of the artifact store, with single-flight production: concurrent
// requests for one digest run the producer once and all receive its result or its exception.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cache/artifact.hpp"

namespace moejit {

class MemoryCache {
 public:
  using Ptr = std::shared_ptr<const Artifact>;

  // The artifact stored for `digest`, or null (also while it is still being produced).
  Ptr find(const std::string& digest) const;

  // Returns the stored artifact, or runs `produce` to make it. While one caller runs `produce`,
  // other callers for the same digest wait for it and get the same pointer; if it throws, every
  // one of them gets the exception and nothing is stored (a later call runs `produce` again).
  // `*ran_producer` (if given) is set true for the one caller that ran it, `*waited` for callers
  // that waited on another thread.
  Ptr get_or_produce(const std::string& digest, const std::function<Ptr()>& produce,
                     bool* ran_producer = nullptr, bool* waited = nullptr);

  // Stores `artifact` unless the digest is already stored or being produced; returns what is
  // stored (or `artifact` when another thread is producing it).
  Ptr insert(const std::string& digest, Ptr artifact);

  void erase(const std::string& digest);
  // Drops every stored artifact; productions in flight finish and are stored.
  void clear();
  std::size_t size() const;

 private:
  struct Slot {
    Ptr ready;                          // set once produced
    std::shared_future<Ptr> in_flight;  // valid while being produced
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace moejit
