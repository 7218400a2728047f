// Shared pieces of the cache tests: fake artifacts with random cubins, a counting compile
// function, scratch directories, and spawning this test binary again as a child process.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cache/artifact.hpp"
#include "cache/knobs.hpp"

namespace moejit::cachetest {

// A deterministic artifact for `key_text`: digest = SHA-256 of the key, cubin of `cubin_bytes`
// pseudo-random bytes seeded by the digest, plus source, options, log, PTX and one kernel.
Artifact make_artifact(const std::string& key_text, std::size_t cubin_bytes = 4096);

// Every field equal (compile_ms included).
bool same_artifact(const Artifact& a, const Artifact& b);

// A compile function that counts its calls and can take its time.
struct CountingCompiler {
  explicit CountingCompiler(std::string key, std::size_t bytes = 4096,
                            std::chrono::milliseconds wait = std::chrono::milliseconds(0))
      : key_text(std::move(key)), cubin_bytes(bytes), delay(wait) {}

  std::string key_text;
  std::size_t cubin_bytes;
  std::chrono::milliseconds delay;
  std::atomic<int> calls{0};

  std::function<Artifact()> fn() {
    return [this] {
      ++calls;
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      return make_artifact(key_text, cubin_bytes);
    };
  }
  std::string digest() const;
};

// A fresh directory under the system temp directory, removed with everything in it on
// destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Knobs for a test: the given cache directory, nothing from the environment.
Knobs test_knobs(const std::filesystem::path& cache_dir);

// Paths of the entry directories below a cache root, and the entries of a sub-folder.
std::vector<std::filesystem::path> entry_dirs(const std::filesystem::path& root);
std::vector<std::filesystem::path> children_of(const std::filesystem::path& dir);

// Flips one bit of byte `offset` of the file; truncates a file to `size` bytes.
void flip_byte(const std::filesystem::path& file, std::uint64_t offset);
void truncate_file(const std::filesystem::path& file, std::uint64_t size);
std::string read_text(const std::filesystem::path& file);

// Number of non-overlapping occurrences of `needle` in `text`.
int count_of(const std::string& text, const std::string& needle);

// Runs this test binary again with MOEJIT_CACHE_TEST_ROLE=<role> and the extra environment;
// stdout and stderr go to the given files. Returns the child's pid.
pid_t spawn_child(const std::string& role, const std::map<std::string, std::string>& env,
                  const std::filesystem::path& stdout_file,
                  const std::filesystem::path& stderr_file);
// Waits for the child; returns its exit status, or 128 + signal when a signal ended it.
int wait_child(pid_t pid);

// The role a child process was started with (MOEJIT_CACHE_TEST_ROLE), empty in the parent.
std::string child_role();

}  // namespace moejit::cachetest
