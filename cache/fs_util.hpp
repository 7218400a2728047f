// Small POSIX file helpers for the disk cache: owned descriptors, whole-file reads and writes
// relative to a directory descriptor, directory identity, unique names. Errors are values.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace moejit::cachefs {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_ = -1;
};

// The device and inode of a directory: tells whether a path still names the directory that
// was opened earlier (entries can be renamed away by another process at any time).
struct DirIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const DirIdentity&) const = default;
};

std::optional<DirIdentity> identity_of(const std::filesystem::path& p);
std::optional<DirIdentity> identity_of_fd(int fd);

// "<what>: <strerror(err)>".
std::string errno_message(std::string_view what, int err);

// Opens a directory for openat(); returns an invalid fd with errno set on failure.
UniqueFd open_dir(const std::filesystem::path& dir);

// Creates `name` inside `dir_fd` (it must not exist), writes all of `data`, optionally fsyncs,
// and closes it, checking every step. Returns an empty string on success, else the reason.
std::string write_new_file(int dir_fd, const std::string& name, std::string_view data, bool sync);

// Result of reading a whole file relative to a directory descriptor.
struct ReadStatus {
  int err = 0;                 // errno of the failing call; 0 on success
  bool size_mismatch = false;  // the file is not exactly the expected size
  std::uint64_t actual_size = 0;
};

// Reads `name` inside `dir_fd` into `out` (std::string or std::vector<std::uint8_t>), which must
// hold exactly `expected_size` bytes (if given) or whatever the file holds (if not).
template <class Container>
ReadStatus read_file_at(int dir_fd, const std::string& name, Container& out,
                        std::optional<std::uint64_t> expected_size);

// Replaces `dir / name` with `content` atomically (temporary file in `dir` plus rename).
// Returns an empty string on success, else the reason.
std::string replace_file(const std::filesystem::path& dir, const std::string& name,
                         std::string_view content);

// Reads a small text file; nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::filesystem::path& p);

// A name part unique across processes and calls: "<pid>-<counter>-<random hex>".
std::string unique_token();

// Nanoseconds since the Unix epoch (system clock).
std::int64_t now_ns();

// Modification time of `p` in nanoseconds since the epoch; nullopt when it cannot be read.
std::optional<std::int64_t> mtime_ns(const std::filesystem::path& p);

// The current time as the file system holding `dir` sees it (the modification time of a probe
// file written there), so that ages of files on a network file system are not skewed by this
// host's clock. Falls back to now_ns() when nothing can be written.
std::int64_t file_system_now_ns(const std::filesystem::path& dir);

// Sum of the sizes of the regular files below `p` (0 when it cannot be read).
std::uint64_t tree_bytes(const std::filesystem::path& p);

// rename(2) that refuses to replace an existing destination (RENAME_NOREPLACE, or plain
// rename(2) where the file system lacks it: a non-empty destination directory still fails).
// Returns 0 or the errno.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// Removes `p` recursively, ignoring errors; returns true when nothing is left.
bool remove_tree(const std::filesystem::path& p);

// Makes `dir` a directory, creating it and its parents when missing. What stands in its place
// and is not a directory (a file, a dangling symbolic link) is removed first; a symbolic link to
// a directory is kept and followed. Returns the error of the last step, if any.
std::error_code ensure_directory(const std::filesystem::path& dir);

}  // namespace moejit::cachefs
