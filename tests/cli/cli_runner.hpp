// Runs the built moejit binary in a scratch directory and captures its exit status, stdout and
// stderr; plus little-endian f32 file helpers for the CLI suites.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace moejit::cli_test {

namespace fs = std::filesystem;

struct CliResult {
  int status = -1;  // exit status, or -1 when the process did not exit normally
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  const std::string s = slurp(path);
  return {s.begin(), s.end()};
}

inline void write_f32(const fs::path& path, const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes;
  for (float v : values) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<std::uint8_t>(bits >> (8 * b)));
  }
  write_bytes(path, bytes);
}

inline std::vector<float> read_f32(const fs::path& path) {
  const auto bytes = read_bytes(path);
  std::vector<float> values(bytes.size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= static_cast<std::uint32_t>(bytes[4 * i + b]) << (8 * b);
    values[i] = std::bit_cast<float>(bits);
  }
  return values;
}

// A fresh scratch directory per test, removed afterwards, and the binary run inside it.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("moejit_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path path(const std::string& name) const { return dir_ / name; }

  // The names in the scratch directory (to see that nothing was left behind).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  CliResult run(const std::vector<std::string>& args) const { return run_with(args, environ); }

  // Runs with this process's environment minus every MOEJIT_* variable, plus `extra`
  // ("NAME=value" each), so that a test's cache settings are the only ones in effect.
  CliResult run_clean(const std::vector<std::string>& args,
                      const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> storage;
    for (char** e = environ; *e != nullptr; ++e)
      if (std::strncmp(*e, "MOEJIT_", 7) != 0) storage.emplace_back(*e);
    storage.insert(storage.end(), extra.begin(), extra.end());
    std::vector<char*> env;
    for (auto& v : storage) env.push_back(v.data());
    env.push_back(nullptr);
    return run_with(args, env.data());
  }

  CliResult run_with(const std::vector<std::string>& args, char** env) const {
    // MOEJIT_TEST_CLI overrides the build's path (a build carried to another machine).
    const char* override_path = std::getenv("MOEJIT_TEST_CLI");
    const std::string binary = override_path != nullptr ? override_path : MOEJIT_CLI_PATH;
    std::vector<std::string> argv_storage{binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);

    const fs::path out_path = dir_.parent_path() / (dir_.filename().string() + ".stdout");
    const fs::path err_path = dir_.parent_path() / (dir_.filename().string() + ".stderr");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), env);
    posix_spawn_file_actions_destroy(&actions);
    CliResult result;
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << binary << ": " << std::strerror(rc);
      return result;
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    fs::remove(out_path);
    fs::remove(err_path);
    return result;
  }

 private:
  fs::path dir_;
};

}  // namespace moejit::cli_test
