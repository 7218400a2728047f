// ArtifactStore: memory, read-only layers, the writable disk cache, and compile-on-miss with a
// per-key cross-process lock and whole-entry atomic publication.
#include "cache/artifact_store.hpp"

#include <set>

#include "cache/sha256.hpp"
#include "moejit/error.hpp"

namespace moejit {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// True the first time `what` is seen in this process (for warnings logged once per process).
bool first_time(const std::string& what) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  return seen.insert(what).second;
}

void check_digest(const std::string& digest) {
  if (!is_sha256_hex(digest))
    throw Error(ErrorCode::Internal, "cache digest '" + digest +
                                         "' is not 64 lowercase hex digits (a SHA-256 of the "
                                         "kernel key)");
}

std::string describe(const std::string& digest, const std::string& key_text) {
  return key_text.empty() ? "kernel " + digest
                          : "kernel '" + key_text + "' (digest " + digest + ")";
}

DiskCache::Options layer_options(bool writable, int layer, const StoreOptions& o) {
  DiskCache::Options d;
  d.writable = writable;
  d.layer = layer;
  d.stale_temp_age = o.stale_temp_age;
  d.sync = o.sync;
  if (writable) d.before_publish_rename = o.before_publish_rename;
  return d;
}

}  // namespace

std::string_view artifact_source_name(ArtifactSource s) {
  switch (s) {
    case ArtifactSource::Memory:
      return "memory";
    case ArtifactSource::ReadOnlyLayer:
      return "read-only layer";
    case ArtifactSource::Disk:
      return "disk";
    case ArtifactSource::Compiled:
      return "compiled";
  }
  return "unknown";
}

ArtifactStore::ArtifactStore(const Knobs& knobs, StoreOptions options)
    : knobs_(knobs), disk_(knobs.cache_dir, layer_options(true, -1, options)) {
  for (std::size_t i = 0; i < knobs.readonly_dirs.size(); ++i)
    layers_.emplace_back(knobs.readonly_dirs[i],
                         layer_options(false, static_cast<int>(i), options));
}

const DiskCache* ArtifactStore::writable_disk() {
  std::call_once(prepare_once_, [this] {
    std::string problem = disk_.root().empty() ? "no cache directory is set" : disk_.prepare();
    disk_usable_ = problem.empty();
    if (!disk_usable_ && first_time("unwritable:" + disk_.root().string()))
      log_message(LogLevel::Warn,
                  "kernel cache directory '" + disk_.root().string() + "' cannot be used (" +
                      problem +
                      "); compiled kernels are kept in memory for this process only. Set "
                      "MOEJIT_CACHE_DIR to a writable directory to keep them across runs");
  });
  return disk_usable_ ? &disk_ : nullptr;
}

bool ArtifactStore::memory_only() { return writable_disk() == nullptr; }

std::shared_ptr<const Artifact> ArtifactStore::get_or_compile(
    const std::string& digest, const std::string& key_text,
    const std::function<Artifact()>& compile, LookupInfo* info) {
  const auto start = Clock::now();
  if (auto hit = memory_.find(digest)) {
    if (info) {
      *info = LookupInfo{};
      info->source = ArtifactSource::Memory;
      info->total_ms = ms_since(start);
    }
    return hit;
  }
  check_digest(digest);
  LookupInfo local;
  bool ran = false;
  bool waited = false;
  auto result = memory_.get_or_produce(
      digest, [&] { return produce(digest, key_text, compile, local); }, &ran, &waited);
  if (info) {
    if (ran) {
      *info = local;
    } else {
      *info = LookupInfo{};
      info->source = ArtifactSource::Memory;
      info->waited = waited;
      info->wait_ms = ms_since(start);
    }
    info->total_ms = ms_since(start);
  }
  return result;
}

std::optional<std::shared_ptr<const Artifact>> ArtifactStore::lookup(const std::string& digest,
                                                                     LookupInfo* info) {
  const auto start = Clock::now();
  LookupInfo local;
  std::shared_ptr<const Artifact> found = memory_.find(digest);
  if (found) {
    local.source = ArtifactSource::Memory;
  } else {
    check_digest(digest);
    if (!knobs_.always_compile || knobs_.no_jit) found = find_on_disk(digest, {}, local);
    if (found) found = memory_.insert(digest, found);
  }
  local.total_ms = ms_since(start);
  if (info) *info = local;
  if (!found) return std::nullopt;
  return found;
}

std::shared_ptr<const Artifact> ArtifactStore::accept(EntryRead& r, const DiskCache& layer,
                                                      const std::string& key_text,
                                                      LookupInfo& info) {
  if (!key_text.empty() && r.artifact.key_text != key_text) {
    r.status = EntryStatus::Corrupt;
    r.problem = "stored key text '" + r.artifact.key_text + "' differs from the requested '" +
                key_text + "'";
    return nullptr;
  }
  info.source = layer.writable() ? ArtifactSource::Disk : ArtifactSource::ReadOnlyLayer;
  info.layer = layer.layer();
  if (layer.writable()) layer.touch(r.artifact.digest);
  return std::make_shared<const Artifact>(std::move(r.artifact));
}

std::shared_ptr<const Artifact> ArtifactStore::find_on_disk(const std::string& digest,
                                                            const std::string& key_text,
                                                            LookupInfo& info) {
  const auto start = Clock::now();
  std::shared_ptr<const Artifact> found;
  for (const DiskCache& layer : layers_) {
    EntryRead r = layer.load(digest);
    if (r.status == EntryStatus::Ok) found = accept(r, layer, key_text, info);
    if (found) break;
    if (r.status == EntryStatus::Corrupt) {
      info.corrupt = r.problem;
      if (first_time("ro-corrupt:" + layer.entry_dir(digest).string()))
        log_message(LogLevel::Warn, "corrupt entry " + layer.entry_dir(digest).string() +
                                        " in read-only cache layer (" + r.problem +
                                        "); ignoring it. Rebuild that layer with "
                                        "`moejit precompile`");
    }
  }
  if (!found && !disk_.root().empty()) {
    EntryRead r = disk_.load(digest);
    if (r.status == EntryStatus::Ok) found = accept(r, disk_, key_text, info);
    if (!found && r.status == EntryStatus::Corrupt) {
      info.corrupt = r.problem;
      if (writable_disk()) {
        disk_.quarantine(digest, r.problem, r.identity);
      } else if (first_time("corrupt:" + disk_.entry_dir(digest).string())) {
        log_message(LogLevel::Warn, "corrupt cache entry " + disk_.entry_dir(digest).string() +
                                        " (" + r.problem + ") cannot be moved aside; ignoring it");
      }
    }
  }
  info.lookup_ms += ms_since(start);
  return found;
}

std::shared_ptr<const Artifact> ArtifactStore::compile_checked(
    const std::string& digest, const std::string& key_text,
    const std::function<Artifact()>& compile, LookupInfo& info) {
  const auto start = Clock::now();
  Artifact a = compile();
  info.compile_ms = ms_since(start);
  if (a.digest.empty()) a.digest = digest;
  if (a.key_text.empty()) a.key_text = key_text;
  if (a.digest != digest || (!key_text.empty() && a.key_text != key_text))
    throw Error(ErrorCode::Internal, "compiling " + describe(digest, key_text) +
                                         " returned an artifact for '" + a.key_text + "' (digest " +
                                         a.digest + ")");
  info.source = ArtifactSource::Compiled;
  return std::make_shared<const Artifact>(std::move(a));
}

void ArtifactStore::publish(const Artifact& artifact, LookupInfo& info) {
  const auto start = Clock::now();
  PublishResult res = disk_.publish(artifact);
  if (res.status == PublishStatus::Published) {
    info.published = true;
    if (knobs_.cache_max_bytes) disk_.prune(*knobs_.cache_max_bytes, artifact.digest);
  } else if (res.status == PublishStatus::Failed) {
    bool first = first_time("publish:" + disk_.root().string());
    log_message(first ? LogLevel::Warn : LogLevel::Info,
                "could not store " + describe(artifact.digest, artifact.key_text) +
                    " in the kernel cache '" + disk_.root().string() + "': " + res.problem +
                    "; using the binary just compiled from memory" +
                    (first ? " (further failures are logged at level info)" : ""));
  }
  info.publish_ms = ms_since(start);
}

std::shared_ptr<const Artifact> ArtifactStore::produce(const std::string& digest,
                                                       const std::string& key_text,
                                                       const std::function<Artifact()>& compile,
                                                       LookupInfo& info) {
  // MOEJIT_NO_JIT wins over MOEJIT_ALWAYS_COMPILE: with both, the caches are still searched.
  const bool search = !knobs_.always_compile || knobs_.no_jit;
  if (search) {
    if (auto found = find_on_disk(digest, key_text, info)) return found;
  }
  if (knobs_.no_jit) throw Error(ErrorCode::CacheError, no_jit_message(digest, key_text));
  const DiskCache* disk = writable_disk();
  if (disk == nullptr) return compile_checked(digest, key_text, compile, info);

  const auto wait_start = Clock::now();
  std::string problem;
  std::optional<FileLock> lock = disk->lock(digest, knobs_.cache_lock_timeout, &problem);
  info.wait_ms += ms_since(wait_start);
  if (!lock) {
    log_message(LogLevel::Warn, "could not take the kernel cache lock for " +
                                    describe(digest, key_text) + ": " + problem +
                                    "; compiling it without waiting for other processes");
  } else if (search) {
    // Another process may have published the entry while this one waited for the lock.
    const auto start = Clock::now();
    EntryRead r = disk->load(digest);
    std::shared_ptr<const Artifact> found;
    if (r.status == EntryStatus::Ok) found = accept(r, *disk, key_text, info);
    info.lookup_ms += ms_since(start);
    if (found) {
      info.waited = true;
      return found;
    }
    if (r.status == EntryStatus::Corrupt) {
      info.corrupt = r.problem;
      disk->quarantine(digest, r.problem, r.identity);
    }
  }
  auto artifact = compile_checked(digest, key_text, compile, info);
  publish(*artifact, info);
  return artifact;
}

std::string ArtifactStore::no_jit_message(const std::string& digest,
                                          const std::string& key_text) const {
  std::string searched;
  for (const auto& d : knobs_.readonly_dirs) searched.append("'").append(d.string()).append("', ");
  searched.append("'").append(disk_.root().string()).append("'");
  std::string msg = "MOEJIT_NO_JIT is set and ";
  msg += describe(digest, key_text);
  msg += " is not in the kernel cache (searched ";
  msg += searched;
  msg +=
      "). Compile it ahead of time with `moejit precompile` into MOEJIT_CACHE_DIR or a "
      "directory listed in MOEJIT_CACHE_READONLY_DIRS, or unset MOEJIT_NO_JIT to compile "
      "on demand";
  return msg;
}

std::vector<EntryInfo> ArtifactStore::list() const {
  std::vector<EntryInfo> out;
  for (const DiskCache& layer : layers_) {
    auto part = layer.list();
    out.insert(out.end(), part.begin(), part.end());
  }
  if (!disk_.root().empty()) {
    auto part = disk_.list();
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

StoreStats ArtifactStore::stats() {
  StoreStats s;
  for (const DiskCache& layer : layers_) s.layers.push_back(layer.stats());
  if (!disk_.root().empty()) s.layers.push_back(disk_.stats());
  s.memory_entries = memory_.size();
  s.memory_only = memory_only();
  return s;
}

std::vector<CorruptEntry> ArtifactStore::verify() const {
  std::vector<CorruptEntry> out;
  for (const DiskCache& layer : layers_) {
    auto part = layer.verify();
    out.insert(out.end(), part.begin(), part.end());
  }
  if (!disk_.root().empty()) {
    auto part = disk_.verify();
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

PruneResult ArtifactStore::prune(std::uint64_t budget_bytes) const {
  if (disk_.root().empty()) return {};
  disk_.clean_stale_temp();
  return disk_.prune(budget_bytes);
}

PruneResult ArtifactStore::clear() {
  memory_.clear();
  return disk_.root().empty() ? PruneResult{} : disk_.clear();
}

}  // namespace moejit
