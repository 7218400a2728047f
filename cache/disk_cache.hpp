// One on-disk cache root: "<root>/v<format>/<digest[0:2]>/<digest>/" entry directories, published
// whole by one rename, verified on every read, with quarantine, LRU pruning and maintenance.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/artifact.hpp"
#include "cache/entry_io.hpp"
#include "cache/file_lock.hpp"

namespace moejit {

// One entry as `moejit cache ls` shows it.
struct EntryInfo {
  std::string digest;
  std::string key_text;  // empty when the manifest failed verification
  std::string arch;
  std::uint64_t bytes = 0;       // all files of the entry, stamp included
  std::int64_t last_use_ns = 0;  // last-use stamp (ns since the epoch); publish time if never hit
  std::filesystem::path root;    // the cache root holding it
  int layer = -1;                // -1: the writable cache; i: read-only layer i
  std::string problem;           // why the manifest is invalid; empty when it verified
};

// Totals of one cache root.
struct LayerStats {
  std::filesystem::path root;
  int layer = -1;
  bool writable = false;
  std::uint64_t entries = 0;
  std::uint64_t entry_bytes = 0;
  std::uint64_t quarantined = 0;  // entries moved aside as corrupt
  std::uint64_t quarantine_bytes = 0;
  std::uint64_t temp_bytes = 0;  // unfinished publications and removals in progress
};

// An entry that failed verification.
struct CorruptEntry {
  std::filesystem::path path;
  std::string digest;
  int layer = -1;
  std::string reason;
  bool quarantined = false;  // moved aside (never for read-only layers)
};

struct PruneResult {
  std::uint64_t removed_entries = 0;
  std::uint64_t freed_bytes = 0;
  std::uint64_t remaining_bytes = 0;  // entries plus quarantine left after pruning
};

enum class PublishStatus {
  Published,       // this call put the entry in place
  AlreadyPresent,  // a valid entry was there already (another process won); ours was discarded
  Failed,          // could not write it (full disk, permissions, ...); `problem` says why
};

struct PublishResult {
  PublishStatus status = PublishStatus::Failed;
  std::string problem;
};

class DiskCache {
 public:
  struct Options {
    bool writable = true;  // false for read-only layers: nothing is ever written there
    int layer = -1;        // reported in listings: -1 writable cache, i read-only layer i
    // Temporary publication directories older than this (by the file system's clock) are
    // left-overs of killed processes and are removed.
    std::chrono::milliseconds stale_temp_age = std::chrono::minutes(10);
    bool sync = true;  // fsync each file before the publishing rename
    // Called after an entry's files are written, just before the rename (tests kill here).
    std::function<void(const std::filesystem::path& temp_dir)> before_publish_rename;
  };

  DiskCache(std::filesystem::path root, Options options);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path version_dir() const { return version_dir_; }
  std::filesystem::path entry_dir(const std::string& digest) const;
  bool writable() const { return options_.writable; }
  int layer() const { return options_.layer; }

  // Creates the directory tree, checks that a file can be written in it and removes stale
  // temporary directories. Returns an empty string when the root is usable, else the reason.
  std::string prepare() const;

  // Reads and verifies the entry for `digest` (see read_entry). Never throws.
  EntryRead load(const std::string& digest, bool payloads = true) const;
  // Records a use of the entry in its last-use stamp. Best effort; no-op for read-only layers.
  void touch(const std::string& digest) const;
  // Moves the entry aside to "<version>/quarantine/" with a reason.txt and logs it once, but
  // only while the path still names the directory `seen` (when given); an entry that is a
  // symbolic link is removed instead (the link only). False when nothing moved.
  bool quarantine(const std::string& digest, const std::string& reason,
                  const std::optional<cachefs::DirIdentity>& seen) const;
  // The per-key cross-process lock (see FileLock::acquire).
  std::optional<FileLock> lock(const std::string& digest, std::chrono::milliseconds timeout,
                               std::string* problem) const;
  // Writes the artifact into a temporary directory and renames it into place. If an entry is
  // already there it is verified and kept (a corrupt one is quarantined and replaced). Never
  // throws; a partial temporary directory is removed on failure.
  PublishResult publish(const Artifact& artifact) const;

  // Maintenance (read-only layers: listing, stats and verification only).
  std::vector<EntryInfo> list() const;
  LayerStats stats() const;
  // Verifies every entry fully; corrupt ones in a writable root are quarantined.
  std::vector<CorruptEntry> verify() const;
  // Removes the quarantine and then least-recently-used entries until entries plus quarantine
  // take at most `budget` bytes, never removing `keep_digest`.
  PruneResult prune(std::uint64_t budget, const std::string& keep_digest = {}) const;
  // Removes every format directory of this root (entries, temp, quarantine, locks) by renaming
  // it away first, so that concurrent readers see whole entries or none.
  PruneResult clear() const;
  // Removes what killed processes left: stale temporary publication directories, trees of
  // interrupted removals and lock files nobody holds. Returns how many were removed.
  std::size_t clean_stale_temp() const;

 private:
  struct Scanned {
    std::string digest;
    std::filesystem::path dir;
    std::uint64_t bytes = 0;
    std::int64_t last_use_ns = 0;
  };
  std::vector<Scanned> scan() const;
  // Makes the layout folder `dir` (the version folder or one below it) and the version folder
  // directories, replacing files that stand in their place (see cachefs::ensure_directory).
  std::error_code layout_dir(const std::filesystem::path& dir) const;
  bool remove_entry_dir(const std::filesystem::path& dir) const;

  std::filesystem::path root_;
  std::filesystem::path version_dir_;
  Options options_;
};

}  // namespace moejit
