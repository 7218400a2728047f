// ArtifactStore: the kernel cache the runtime uses. Memory first, then the read-only layers
// (MOEJIT_CACHE_READONLY_DIRS), then the writable disk cache (MOEJIT_CACHE_DIR); on a miss one
// process compiles under a per-key lock and publishes the entry for everyone else.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/artifact.hpp"
#include "cache/disk_cache.hpp"
#include "cache/knobs.hpp"
#include "cache/memory_cache.hpp"

namespace moejit {

enum class ArtifactSource {
  Memory,         // this process had it (possibly after waiting for another thread)
  ReadOnlyLayer,  // a precompiled read-only layer; LookupInfo::layer says which
  Disk,           // the writable disk cache
  Compiled,       // compiled by this call
};

std::string_view artifact_source_name(ArtifactSource s);

// Where get_or_compile / lookup found the artifact and where the time went.
struct LookupInfo {
  ArtifactSource source = ArtifactSource::Compiled;
  int layer = -1;           // index into Knobs::readonly_dirs when source is ReadOnlyLayer
  bool waited = false;      // waited for another thread, or took the lock after another process
  bool published = false;   // compiled here and the entry was written to the disk cache
  std::string corrupt;      // reason, when a corrupt entry was found (and moved aside) on the way
  double lookup_ms = 0.0;   // reading and verifying disk entries
  double wait_ms = 0.0;     // waiting for another thread or for the per-key lock
  double compile_ms = 0.0;  // inside the compile function
  double publish_ms = 0.0;  // writing the entry (and pruning to the size cap)
  double total_ms = 0.0;
};

struct StoreOptions {
  // Temporary publication directories older than this are removed as left-overs.
  std::chrono::milliseconds stale_temp_age = std::chrono::minutes(10);
  bool sync = true;  // fsync entry files before publishing them
  // Called with the temporary directory just before an entry is renamed into place (tests).
  std::function<void(const std::filesystem::path&)> before_publish_rename;
};

struct StoreStats {
  std::vector<LayerStats> layers;  // read-only layers in order, then the writable cache
  std::uint64_t memory_entries = 0;
  bool memory_only = false;  // the writable cache could not be used
};

class ArtifactStore {
 public:
  // Uses knobs.cache_dir, readonly_dirs, cache_max_bytes, no_jit, always_compile and
  // cache_lock_timeout. Touches no file until the first lookup. Never throws for file reasons.
  explicit ArtifactStore(const Knobs& knobs, StoreOptions options = {});

  // Returns the artifact for `digest` (64 lowercase hex), compiling it with `compile` on a miss
  // and publishing it to the disk cache. Concurrent calls for one digest compile once per
  // process, and across processes once per cache directory (others wait up to the lock timeout).
  // `compile` must return an artifact whose digest is `digest` (or empty: it is filled in) and
  // whose key text is `key_text` (or empty). MOEJIT_ALWAYS_COMPILE skips the read-only layers and
  // the disk cache (the result is still published); what this process compiled is still served
  // from memory. MOEJIT_NO_JIT wins over it: with both set, the caches are searched.
  // Throws: whatever `compile` throws (not cached: the next call retries); moejit::Error
  // CacheError when MOEJIT_NO_JIT is set and nothing holds the kernel; moejit::Error Internal
  // for a malformed digest or an artifact that does not match the request. Cache directory
  // problems (unwritable, full, corrupt entries, lock timeouts) are logged, never thrown.
  std::shared_ptr<const Artifact> get_or_compile(const std::string& digest,
                                                 const std::string& key_text,
                                                 const std::function<Artifact()>& compile,
                                                 LookupInfo* info = nullptr);

  // Memory, read-only layers, then the disk cache; no compile, no lock. nullopt on a miss.
  // Throws moejit::Error Internal for a malformed digest.
  std::optional<std::shared_ptr<const Artifact>> lookup(const std::string& digest,
                                                        LookupInfo* info = nullptr);

  // True when the writable cache cannot be used and compiled kernels stay in memory only.
  bool memory_only();
  const std::filesystem::path& cache_dir() const { return disk_.root(); }

  // Maintenance, for `moejit cache ls|stats|verify|prune|clear`. Read-only layers are listed,
  // counted and verified but never changed.
  std::vector<EntryInfo> list() const;
  StoreStats stats();
  std::vector<CorruptEntry> verify() const;
  PruneResult prune(std::uint64_t budget_bytes) const;
  PruneResult clear();  // the writable cache and the memory level
  void clear_memory() { memory_.clear(); }

 private:
  std::shared_ptr<const Artifact> produce(const std::string& digest, const std::string& key_text,
                                          const std::function<Artifact()>& compile,
                                          LookupInfo& info);
  std::shared_ptr<const Artifact> find_on_disk(const std::string& digest,
                                               const std::string& key_text, LookupInfo& info);
  std::shared_ptr<const Artifact> accept(EntryRead& r, const DiskCache& layer,
                                         const std::string& key_text, LookupInfo& info);
  std::shared_ptr<const Artifact> compile_checked(const std::string& digest,
                                                  const std::string& key_text,
                                                  const std::function<Artifact()>& compile,
                                                  LookupInfo& info);
  void publish(const Artifact& artifact, LookupInfo& info);
  const DiskCache* writable_disk();
  std::string no_jit_message(const std::string& digest, const std::string& key_text) const;

  Knobs knobs_;
  MemoryCache memory_;
  std::vector<DiskCache> layers_;
  DiskCache disk_;
  std::once_flag prepare_once_;
  bool disk_usable_ = false;
};

}  // namespace moejit
