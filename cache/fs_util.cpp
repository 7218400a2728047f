// POSIX helpers of the disk cache (descriptors, whole-file I/O, atomic replace, unique names).
#include "cache/fs_util.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

namespace moejit::cachefs {

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<DirIdentity> identity_of(const std::filesystem::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return DirIdentity{st.st_dev, st.st_ino};
}

std::optional<DirIdentity> identity_of_fd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return DirIdentity{st.st_dev, st.st_ino};
}

std::string errno_message(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

UniqueFd open_dir(const std::filesystem::path& dir) {
  return UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

std::string write_new_file(int dir_fd, const std::string& name, std::string_view data, bool sync) {
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_message("cannot create " + name, errno);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_message("cannot write " + name, errno);
    }
    if (n == 0) return "cannot write " + name + ": no progress";
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) return errno_message("cannot fsync " + name, errno);
  if (::close(fd.release()) != 0) return errno_message("cannot close " + name, errno);
  return {};
}

template <class Container>
ReadStatus read_file_at(int dir_fd, const std::string& name, Container& out,
                        std::optional<std::uint64_t> expected_size) {
  ReadStatus st;
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    st.err = errno;
    return st;
  }
  struct stat sb;
  if (::fstat(fd.get(), &sb) != 0) {
    st.err = errno;
    return st;
  }
  st.actual_size = static_cast<std::uint64_t>(sb.st_size);
  if (expected_size && st.actual_size != *expected_size) {
    st.size_mismatch = true;
    return st;
  }
  out.resize(st.actual_size);
  std::size_t done = 0;
  auto* base = reinterpret_cast<char*>(out.data());
  // Read one byte past the expected end to notice a file that grew after fstat.
  while (true) {
    char extra;
    char* dst = done < out.size() ? base + done : &extra;
    std::size_t want = done < out.size() ? out.size() - done : 1;
    ssize_t n = ::read(fd.get(), dst, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      st.err = errno;
      return st;
    }
    if (n == 0) break;
    if (done >= out.size()) {
      st.size_mismatch = true;
      return st;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done != out.size()) {
    st.size_mismatch = true;
    st.actual_size = done;
  }
  return st;
}

template ReadStatus read_file_at<std::string>(int, const std::string&, std::string&,
                                              std::optional<std::uint64_t>);
template ReadStatus read_file_at<std::vector<std::uint8_t>>(int, const std::string&,
                                                            std::vector<std::uint8_t>&,
                                                            std::optional<std::uint64_t>);

std::string replace_file(const std::filesystem::path& dir, const std::string& name,
                         std::string_view content) {
  UniqueFd dfd = open_dir(dir);
  if (!dfd.valid()) return errno_message("cannot open " + dir.string(), errno);
  const std::string tmp = "." + name + "." + unique_token();
  std::string err = write_new_file(dfd.get(), tmp, content, /*sync=*/false);
  if (err.empty() && ::renameat(dfd.get(), tmp.c_str(), dfd.get(), name.c_str()) != 0)
    err = errno_message("cannot rename " + tmp + " to " + name, errno);
  if (!err.empty()) ::unlinkat(dfd.get(), tmp.c_str(), 0);
  return err;
}

std::optional<std::string> read_small_file(const std::filesystem::path& p) {
  UniqueFd dfd = open_dir(p.parent_path().empty() ? "." : p.parent_path());
  if (!dfd.valid()) return std::nullopt;
  std::string out;
  ReadStatus st = read_file_at(dfd.get(), p.filename().string(), out, std::nullopt);
  if (st.err != 0 || out.size() > (1u << 20)) return std::nullopt;
  return out;
}

std::string unique_token() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(::getpid()) << 32) ^
                                   static_cast<std::uint64_t>(now_ns())};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d-%llu-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1)),
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::int64_t> mtime_ns(const std::filesystem::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::int64_t file_system_now_ns(const std::filesystem::path& dir) {
  UniqueFd dfd = open_dir(dir);
  if (!dfd.valid()) return now_ns();
  const std::string name = ".probe." + unique_token();
  if (!write_new_file(dfd.get(), name, {}, /*sync=*/false).empty()) return now_ns();
  struct stat st;
  int rc = ::fstatat(dfd.get(), name.c_str(), &st, 0);
  ::unlinkat(dfd.get(), name.c_str(), 0);
  if (rc != 0) return now_ns();
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::uint64_t tree_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  std::uint64_t total = 0;
  std::filesystem::recursive_directory_iterator it(p, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) {
      auto n = it->file_size(fec);
      if (!fec) total += n;
    }
  }
  return total;
}

int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (err != EINVAL && err != ENOSYS) return err;
  // File systems without RENAME_NOREPLACE: rename(2) still refuses a non-empty directory.
  if (::rename(from.c_str(), to.c_str()) == 0) return 0;
  return errno;
}

bool remove_tree(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  return !std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

std::error_code ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (std::filesystem::exists(std::filesystem::symlink_status(dir, ec)))
    std::filesystem::remove(dir, ec);  // a file or a link, never a directory here
  ec.clear();
  std::filesystem::create_directories(dir, ec);
  return ec;
}

}  // namespace moejit::cachefs
