// Per-key advisory lock files (flock) with a timeout, so that one process compiles a kernel
// while the others wait for its entry. Never blocks past the timeout.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "cache/fs_util.hpp"

namespace moejit {

// An exclusive lock on a lock file. The holder removes the file when it releases the lock, and
// a waiter that wakes on a removed file starts over on the new one, so lock files do not pile up.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock() { release(); }
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&& o) noexcept {
    if (this != &o) {
      release();
      path_ = std::move(o.path_);
      fd_ = std::move(o.fd_);
    }
    return *this;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Takes the lock on `path` (created if needed, parent must exist), polling until `timeout`
  // has passed. Returns nullopt when the time ran out or the file cannot be opened; `problem`
  // (if given) then says which. Never throws for file-system reasons.
  static std::optional<FileLock> acquire(const std::filesystem::path& path,
                                         std::chrono::milliseconds timeout,
                                         std::string* problem = nullptr);

  bool held() const { return fd_.valid(); }
  const std::filesystem::path& path() const { return path_; }
  // Removes the lock file and releases the lock; a no-op when not held.
  void release();

 private:
  std::filesystem::path path_;
  cachefs::UniqueFd fd_;
};

}  // namespace moejit
