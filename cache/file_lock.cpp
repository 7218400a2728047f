// flock(2)-based lock files with polling, a deadline, and removal on release.
#include "cache/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace moejit {

std::optional<FileLock> FileLock::acquire(const std::filesystem::path& path,
                                          std::chrono::milliseconds timeout, std::string* problem) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(500);
  while (true) {
    cachefs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      if (problem)
        *problem = cachefs::errno_message("cannot open lock file " + path.string(), errno);
      return std::nullopt;
    }
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      // The previous holder may have removed the file after we opened it: then this lock guards
      // nothing and we start over on whatever file the path names now.
      auto mine = cachefs::identity_of_fd(fd.get());
      auto named = cachefs::identity_of(path);
      if (mine && named && *mine == *named) {
        FileLock lock;
        lock.path_ = path;
        lock.fd_ = std::move(fd);
        return lock;
      }
      continue;
    }
    if (errno != EWOULDBLOCK) {
      if (problem) *problem = cachefs::errno_message("cannot lock " + path.string(), errno);
      return std::nullopt;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      if (problem)
        *problem = "timed out after " + std::to_string(timeout.count()) + " ms waiting for " +
                   path.string();
      return std::nullopt;
    }
    fd.reset();
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(pause, left));
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
  }
}

void FileLock::release() {
  if (!fd_.valid()) return;
  // Unlink while still holding the lock: waiters that hold the old file then notice it is gone.
  ::unlink(path_.c_str());
  fd_.reset();
}

}  // namespace moejit
