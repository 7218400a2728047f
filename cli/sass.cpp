// Finding cuobjdump / nvdisasm and running one on a cubin written to a temporary file.
#include "cli/sass.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/cuda_toolkit.hpp"

extern char** environ;

namespace moejit::cli {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> search_dirs() {
  std::vector<fs::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string all = path;
    std::size_t start = 0;
    while (start <= all.size()) {
      std::size_t end = all.find(':', start);
      if (end == std::string::npos) end = all.size();
      if (end > start) dirs.emplace_back(all.substr(start, end - start));
      start = end + 1;
    }
  }
  if (const char* home = std::getenv("CUDA_HOME"); home && *home)
    dirs.push_back(fs::path(home) / "bin");
  try {
    if (const auto& toolkit = process_cuda_toolkit())
      dirs.push_back(toolkit->include_dir.parent_path() / "bin");
  } catch (const std::exception&) {
    // The toolkit search is only a hint here.
  }
  std::vector<fs::path> unique;
  for (const auto& d : dirs)
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  return unique;
}

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file in the temp directory that is removed when this goes out of scope.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix) {
    std::string pattern = (fs::temp_directory_path() / "moejit-inspect-XXXXXX").string() + suffix;
    const int fd = ::mkstemps(pattern.data(), static_cast<int>(suffix.size()));
    if (fd >= 0) {
      ::close(fd);
      path_ = pattern;
    }
  }
  ~TempFile() {
    std::error_code ec;
    if (!path_.empty()) fs::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }
  bool ok() const { return !path_.empty(); }

 private:
  fs::path path_;
};

}  // namespace

std::optional<fs::path> find_disassembler(std::vector<std::string>* searched) {
  const std::vector<fs::path> dirs = search_dirs();
  if (searched) {
    searched->clear();
    for (const auto& d : dirs) searched->push_back(d.string());
  }
  for (const char* tool : {"cuobjdump", "nvdisasm"})
    for (const auto& d : dirs)
      if (executable(d / tool)) return d / tool;
  return std::nullopt;
}

SassResult disassemble(std::span<const std::uint8_t> cubin, const std::string& cubin_path_hint) {
  SassResult result;
  const std::string by_hand = cubin_path_hint.empty()
                                  ? std::string()
                                  : " (by hand: cuobjdump -sass " + cubin_path_hint + ")";
  std::vector<std::string> searched;
  const auto tool = find_disassembler(&searched);
  if (!tool) {
    std::string dirs;
    for (const auto& d : searched) dirs += (dirs.empty() ? "" : ":") + d;
    result.message =
        "no SASS: neither cuobjdump nor nvdisasm was found on PATH or in $CUDA_HOME/bin "
        "(searched " +
        dirs +
        "). Install the CUDA toolkit's binary utilities (e.g. the cuda-cuobjdump package), "
        "put them on PATH or set CUDA_HOME" +
        by_hand;
    return result;
  }
  result.tool = tool->string();
  TempFile file(".cubin"), out(".out"), err(".err");
  if (!file.ok() || !out.ok() || !err.ok()) {
    result.message =
        "no SASS: cannot create temporary files in " + fs::temp_directory_path().string() + by_hand;
    return result;
  }
  {
    std::ofstream f(file.path(), std::ios::binary);
    f.write(reinterpret_cast<const char*>(cubin.data()),
            static_cast<std::streamsize>(cubin.size()));
    if (!f) {
      result.message = "no SASS: cannot write the cubin to " + file.path().string() + by_hand;
      return result;
    }
  }
  const bool is_cuobjdump = tool->filename() == "cuobjdump";
  std::vector<std::string> argv_text{tool->string()};
  if (is_cuobjdump) argv_text.push_back("-sass");
  argv_text.push_back(file.path().string());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.path().c_str(), O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err.path().c_str(), O_WRONLY | O_TRUNC, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, tool->c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.message = "no SASS: cannot run " + tool->string() + ": " + std::strerror(rc) + by_hand;
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    result.message = "no SASS: " + tool->string() + " failed (status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                     "): " + slurp(err.path()) + by_hand;
    return result;
  }
  result.ok = true;
  result.text = slurp(out.path());
  return result;
}

}  // namespace moejit::cli
