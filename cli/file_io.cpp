// Whole-file reads and atomic whole-file writes (mkstemp beside the target, fsync, rename).
#include "cli/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <string>

#include "moejit/error.hpp"

namespace moejit::cli {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int err) {
  throw Error(ErrorCode::InvalidProblem, what + " '" + path.string() + "': " + std::strerror(err));
}

// The permissions a newly created file gets (0666 less the umask); mkstemp would give 0600.
mode_t default_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return static_cast<mode_t>(0666 & ~mask);
}

// A temp file that removes itself unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) : target_(target) {
    const std::filesystem::path dir =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::string name = ".";  // hidden, and beside the target so that rename stays on one device
    name += target.filename().string();
    name += ".tmp-XXXXXX";
    std::string pattern = (dir / name).string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0) fail("cannot write output", target, errno);
    path_ = pattern;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  void write_all(std::span<const std::uint8_t> bytes) {
    if (::fchmod(fd_, default_file_mode()) != 0) fail("cannot write output", target_, errno);
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write output", target_, n < 0 ? errno : EIO);
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd_) != 0) fail("cannot write output", target_, errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot write output", target_, errno);
  }

  void commit() {
    if (::rename(path_.c_str(), target_.c_str()) != 0) fail("cannot write output", target_, errno);
    path_.clear();
  }

 private:
  std::filesystem::path target_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read input", path, errno);
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;  // EISDIR for a directory
      ::close(fd);
      fail("cannot read input", path, err);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  ::close(fd);
  return bytes;
}

void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  TempFile temp(path);
  temp.write_all(bytes);
  temp.commit();
}

std::vector<float> floats_from_le_bytes(std::span<const std::uint8_t> bytes) {
  std::vector<float> values(bytes.size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint8_t* p = bytes.data() + 4 * i;
    const std::uint32_t bits =
        static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
        (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    values[i] = std::bit_cast<float>(bits);
  }
  return values;
}

std::vector<std::uint8_t> le_bytes_from_floats(std::span<const float> values) {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(values[i]);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<std::uint8_t>(bits >> (8 * b));
  }
  return bytes;
}

}  // namespace moejit::cli
