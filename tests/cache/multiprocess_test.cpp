// The cache across real processes: eight processes racing for one key, a publisher killed
// with SIGKILL (at a chosen point and at random moments), and a full disk (RLIMIT_FSIZE).
// Children are this test binary started again with MOEJIT_CACHE_TEST_ROLE set; they run their
// role from a static initializer and exit before GoogleTest starts.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "cache/artifact_store.hpp"
#include "cache/sha256.hpp"
#include "cache_test_support.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cachetest::make_artifact;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

// Appends one line to a shared results file in a single write (O_APPEND keeps lines whole).
void append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string text = line + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  (void)n;
  ::close(fd);
}

// Role "get": one get_or_compile through the knobs from the environment; checks the bytes.
int child_get(const StoreOptions& options) {
  const std::string key = env_or("TEST_KEY", "k");
  const std::size_t bytes = std::stoul(env_or("TEST_CUBIN_BYTES", "4096"));
  const auto delay = std::chrono::milliseconds(std::stoi(env_or("TEST_COMPILE_MS", "0")));
  cachetest::CountingCompiler cc(key, bytes, delay);
  ArtifactStore store(Knobs::from_environment(), options);
  LookupInfo info;
  auto a = store.get_or_compile(cc.digest(), key, cc.fn(), &info);
  const bool same = cachetest::same_artifact(*a, make_artifact(key, bytes));
  append_line(env_or("TEST_RESULTS", "/dev/null"), std::string(artifact_source_name(info.source)) +
                                                       (info.published ? " published" : " kept") +
                                                       (same ? " same" : " DIFFERENT"));
  if (!same) return 3;
  // A second request is served from memory.
  store.get_or_compile(cc.digest(), key, cc.fn(), &info);
  return info.source == ArtifactSource::Memory && cc.calls.load() <= 1 ? 0 : 4;
}

// Role "publish_pause": compiles and stops forever just before the publishing rename.
int child_publish_pause() {
  StoreOptions options;
  const std::string marker = env_or("TEST_MARKER", "");
  options.before_publish_rename = [marker](const fs::path&) {
    std::ofstream(marker) << "ready";
    while (true) ::pause();
  };
  return child_get(options);
}

// Role "publish_loop": publishes one new key after another until killed.
int child_publish_loop() {
  ArtifactStore store(Knobs::from_environment());
  for (int i = 0;; ++i) {
    cachetest::CountingCompiler cc("loop:" + env_or("TEST_SEED", "0") + ":" + std::to_string(i),
                                   20000 + 97 * (i % 50));
    store.get_or_compile(cc.digest(), cc.key_text, cc.fn());
    if (i == 0) std::ofstream(env_or("TEST_MARKER", "/dev/null")) << "started";
  }
}

// Role "full_disk": files may not grow past TEST_FSIZE bytes; the artifact must still come back.
int child_full_disk() {
  ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim;
  lim.rlim_cur = lim.rlim_max = std::stoul(env_or("TEST_FSIZE", "65536"));
  if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 5;
  const std::string key = env_or("TEST_KEY", "k");
  cachetest::CountingCompiler cc(key, 256 * 1024);
  ArtifactStore store(Knobs::from_environment());
  LookupInfo info;
  auto a = store.get_or_compile(cc.digest(), key, cc.fn(), &info);
  if (!cachetest::same_artifact(*a, make_artifact(key, 256 * 1024))) return 3;
  if (info.source != ArtifactSource::Compiled || info.published) return 4;
  auto again = store.get_or_compile(cc.digest(), key, cc.fn(), &info);
  return again.get() == a.get() && info.source == ArtifactSource::Memory ? 0 : 6;
}

int run_child_role(const std::string& role) {
  try {
    if (role == "get") return child_get({});
    if (role == "publish_pause") return child_publish_pause();
    if (role == "publish_loop") return child_publish_loop();
    if (role == "full_disk") return child_full_disk();
    std::cerr << "unknown role " << role << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "child failed: " << e.what() << "\n";
    return 1;
  }
}

[[maybe_unused]] const int kChildRoleDone = [] {
  const std::string role = cachetest::child_role();
  if (!role.empty()) {
    int rc = run_child_role(role);
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(rc);
  }
  return 0;
}();

class MultiProcess : public ::testing::Test {
 protected:
  fs::path cache() const { return scratch_ / "cache"; }
  pid_t spawn(const std::string& role, std::map<std::string, std::string> env, int index) {
    env["MOEJIT_CACHE_DIR"] = cache().string();
    return cachetest::spawn_child(role, env, scratch_ / ("out" + std::to_string(index)),
                                  scratch_ / ("err" + std::to_string(index)));
  }
  std::string child_err(int index) {
    return cachetest::read_text(scratch_ / ("err" + std::to_string(index)));
  }
  std::vector<std::string> result_lines() {
    std::vector<std::string> out;
    std::istringstream in(cachetest::read_text(scratch_ / "results"));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void expect_one_valid_entry(const std::string& digest) {
    auto entries = cachetest::entry_dirs(cache());
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].filename().string(), digest);
    ArtifactStore s(cachetest::test_knobs(cache()));
    EXPECT_TRUE(s.verify().empty());
    EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "tmp").empty());
    EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "quarantine").empty());
  }

  cachetest::ScratchDir scratch_;
};

TEST_F(MultiProcess, EightProcessesOneKeyCompileOncePublishOnce) {
  const std::string key = "wmma_gguf:q6_k:f16:sm_90a:64x64x32:w4:s3";
  std::vector<pid_t> pids;
  for (int i = 0; i < 8; ++i)
    pids.push_back(spawn("get",
                         {{"TEST_KEY", key},
                          {"TEST_CUBIN_BYTES", "150000"},
                          {"TEST_COMPILE_MS", "500"},
                          {"TEST_RESULTS", (scratch_ / "results").string()}},
                         i));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(cachetest::wait_child(pids[i]), 0) << child_err(i);
  auto lines = result_lines();
  ASSERT_EQ(lines.size(), 8u);
  int compiled = 0, published = 0, from_disk = 0;
  for (const auto& l : lines) {
    EXPECT_NE(l.find(" same"), std::string::npos) << l;
    compiled += l.starts_with("compiled");
    published += l.find(" published") != std::string::npos;
    from_disk += l.starts_with("disk");
  }
  EXPECT_EQ(compiled, 1);
  EXPECT_EQ(published, 1);
  EXPECT_EQ(from_disk, 7);
  expect_one_valid_entry(sha256_hex(key));
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "locks").empty());
}

TEST_F(MultiProcess, EightProcessesWithoutWaitingStillPublishExactlyOnce) {
  // A lock timeout of 0: every process that finds the lock taken compiles on its own, and the
  // atomic rename lets exactly one publication win.
  const std::string key = "wmma:bf16:sm_90a:64x64x32:w4:s3";
  std::vector<pid_t> pids;
  for (int i = 0; i < 8; ++i)
    pids.push_back(spawn("get",
                         {{"TEST_KEY", key},
                          {"TEST_CUBIN_BYTES", "150000"},
                          {"TEST_COMPILE_MS", "500"},
                          {"MOEJIT_CACHE_LOCK_TIMEOUT", "0"},
                          {"MOEJIT_LOG", "error"},
                          {"TEST_RESULTS", (scratch_ / "results").string()}},
                         i));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(cachetest::wait_child(pids[i]), 0) << child_err(i);
  auto lines = result_lines();
  ASSERT_EQ(lines.size(), 8u);
  int compiled = 0, published = 0;
  for (const auto& l : lines) {
    EXPECT_NE(l.find(" same"), std::string::npos) << l;
    compiled += l.starts_with("compiled");
    published += l.find(" published") != std::string::npos;
  }
  EXPECT_GE(compiled, 2);
  EXPECT_EQ(published, 1);
  expect_one_valid_entry(sha256_hex(key));
}

TEST_F(MultiProcess, KilledWhilePublishingLeavesNothingThatLoads) {
  const std::string key = "scalar_gguf:q4_0:f32:sm_90a:1x4x0:w4:s1:n=768:k=2048";
  const fs::path marker = scratch_ / "marker";
  pid_t pid = spawn(
      "publish_pause",
      {{"TEST_KEY", key}, {"TEST_CUBIN_BYTES", "200000"}, {"TEST_MARKER", marker.string()}}, 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(fs::exists(marker)) << child_err(0);
  ::kill(pid, SIGKILL);
  EXPECT_EQ(cachetest::wait_child(pid), 128 + SIGKILL);

  // The child died holding the lock and a complete temporary directory: neither loads.
  EXPECT_TRUE(cachetest::entry_dirs(cache()).empty());
  EXPECT_EQ(cachetest::children_of(cache() / "v1" / "tmp").size(), 1u);
  cachetest::CountingCompiler cc(key, 200000);
  Knobs k = cachetest::test_knobs(cache());
  k.cache_lock_timeout = 60s;
  ArtifactStore s(k);
  EXPECT_FALSE(s.lookup(cc.digest()).has_value());
  LookupInfo info;
  auto a = s.get_or_compile(cc.digest(), key, cc.fn(), &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(info.published);
  EXPECT_LT(info.wait_ms, 10000.0);  // the kernel released the dead process's lock
  EXPECT_EQ(cc.calls.load(), 1);
  EXPECT_TRUE(cachetest::same_artifact(*a, make_artifact(key, 200000)));

  // The left-over temporary directory is removed once stale (with the tree of a clear() that
  // was interrupted, for good measure).
  fs::create_directories(cache() / ".trash.interrupted" / "v1" / "ab");
  DiskCache::Options o;
  o.stale_temp_age = 0ms;
  EXPECT_EQ(DiskCache(cache(), o).clean_stale_temp(), 2u);
  EXPECT_FALSE(fs::exists(cache() / ".trash.interrupted"));
  expect_one_valid_entry(cc.digest());
}

TEST_F(MultiProcess, KilledAtRandomMomentsNeverLeavesACorruptEntry) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 6; ++round) {
    const fs::path marker = scratch_ / ("started" + std::to_string(round));
    pid_t pid =
        spawn("publish_loop",
              {{"TEST_SEED", std::to_string(round)}, {"TEST_MARKER", marker.string()}}, round);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 60000));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(cachetest::wait_child(pid), 128 + SIGKILL) << child_err(round);
  }
  ArtifactStore s(cachetest::test_knobs(cache()));
  testing::internal::CaptureStderr();
  auto bad = s.verify();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(bad.empty()) << log;
  // Lock files of the killed processes are left until cleaned; nobody holds them any more.
  DiskCache::Options o;
  o.stale_temp_age = 0ms;
  DiskCache(cache(), o).clean_stale_temp();
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "locks").empty());
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "tmp").empty());
  auto listed = s.list();
  EXPECT_GE(listed.size(), 6u);  // at least the first key of every round
  for (const auto& e : listed) {
    ASSERT_TRUE(e.problem.empty()) << e.problem;
    auto got = s.lookup(e.digest);
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(cachetest::same_artifact(**got, make_artifact(e.key_text, (*got)->cubin.size())));
  }
}

TEST_F(MultiProcess, FullDiskStillReturnsTheArtifact) {
  const std::string key = "wmma_gguf:q8_0:bf16:sm_90a:64x64x32:w4:s3";
  pid_t pid =
      spawn("full_disk", {{"TEST_KEY", key}, {"TEST_FSIZE", "65536"}, {"MOEJIT_LOG", "warn"}}, 0);
  EXPECT_EQ(cachetest::wait_child(pid), 0) << child_err(0);
  EXPECT_NE(child_err(0).find("could not store"), std::string::npos) << child_err(0);
  EXPECT_TRUE(cachetest::entry_dirs(cache()).empty());
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "tmp").empty());
}

}  // namespace
}  // namespace moejit
