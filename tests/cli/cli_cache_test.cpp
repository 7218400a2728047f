// moejit cache on the real binary: ls, stats, verify (a planted corruption is found, reported,
// quarantined, exit 1), prune to a byte budget and clear, in text and JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"

namespace moejit::cli_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using CliCache = CliTest;

std::vector<fs::path> cubins(const fs::path& cache) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(cache))
    if (e.path().filename() == "kernel.cubin" &&
        e.path().string().find("quarantine") == std::string::npos)
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(CliCache, ListVerifyPruneClear) {
  const std::string cache = path("cache").string();
  const CliResult pre = run_clean({"precompile", "--arch", "sm_90", "--variant", "scalar_gguf,wmma",
                                   "--format", "q8_0", "--dtype", "f32,f16", "--cache-dir", cache});
  ASSERT_EQ(pre.status, 0) << pre.out << pre.err;

  CliResult r = run_clean({"cache", "ls", "--cache-dir", cache});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "scalar_gguf:q8_0:f32:sm_90:")) << r.out;
  EXPECT_TRUE(contains(r.out, "wmma:f16:sm_90a:")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 entries")) << r.out;
  EXPECT_TRUE(contains(r.out, "KiB")) << r.out;

  r = run_clean({"cache", "ls", "--cache-dir", cache, "--json"});
  auto ls = nlohmann::json::parse(r.out);
  ASSERT_EQ(ls["entries"].size(), 2u);
  std::uint64_t total = 0;
  for (const auto& e : ls["entries"]) {
    EXPECT_GT(e["bytes"].get<std::uint64_t>(), 1000u);
    EXPECT_GT(e["last_use_ns"].get<std::int64_t>(), 0);
    EXPECT_EQ(e["layer"], "writable");
    total += e["bytes"].get<std::uint64_t>();
  }
  EXPECT_EQ(ls["total_bytes"], total);

  r = run_clean({"cache", "stats", "--cache-dir", cache, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  EXPECT_EQ(stats["total_entries"], 2);
  EXPECT_EQ(stats["total_bytes"], total);

  r = run_clean({"cache", "verify", "--cache-dir", cache});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "verified 2 entries: 0 corrupt")) << r.out;

  // Flip one byte of a cubin: verify reports it, moves it aside and fails.
  const fs::path victim = cubins(cache).front();
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(200);
    const char c = static_cast<char>(f.get());
    f.seekp(200);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  r = run_clean({"cache", "verify", "--cache-dir", cache});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "1 corrupt")) << r.out;
  EXPECT_TRUE(contains(r.out, victim.parent_path().string())) << r.out;
  EXPECT_TRUE(contains(r.out, "checksum")) << r.out;
  EXPECT_TRUE(contains(r.out, "moved to the quarantine")) << r.out;
  EXPECT_FALSE(fs::exists(victim));
  EXPECT_EQ(cubins(cache).size(), 1u);
  r = run_clean({"cache", "verify", "--cache-dir", cache, "--json"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["corrupt"].size(), 0u);
  r = run_clean({"cache", "stats", "--cache-dir", cache});
  EXPECT_TRUE(contains(r.out, "quarantined  1")) << r.out;

  // Prune to a budget below one entry removes the quarantine and the entry; clear then has
  // nothing left to remove.
  r = run_clean({"cache", "prune", "--max-bytes", "1K", "--cache-dir", cache, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto pruned = nlohmann::json::parse(r.out);
  EXPECT_GE(pruned["removed_entries"].get<int>(), 1);
  EXPECT_EQ(pruned["remaining_bytes"], 0);
  EXPECT_TRUE(cubins(cache).empty());
  r = run_clean({"cache", "clear", "--cache-dir", cache});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "clear: removed 0 entries")) << r.out;
  r = run_clean({"cache", "ls", "--cache-dir", cache});
  EXPECT_TRUE(contains(r.out, "no entries")) << r.out;
}

TEST_F(CliCache, ClearRemovesEveryEntry) {
  const std::string cache = path("cache").string();
  ASSERT_EQ(run_clean({"precompile", "--arch", "sm_90", "--variant", "scalar_gguf", "--format",
                       "q8_0", "--cache-dir", cache})
                .status,
            0);
  const CliResult r = run_clean({"cache", "clear", "--cache-dir", cache});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "clear: removed 1 entries")) << r.out;
  EXPECT_TRUE(cubins(cache).empty());
}

TEST_F(CliCache, UsageErrors) {
  CliResult r = run_clean({"cache"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "missing the action")) << r.err;
  r = run_clean({"cache", "purge"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown action 'purge'; allowed: ls, stats, verify, prune, clear"))
      << r.err;
  r = run_clean({"cache", "prune", "--cache-dir", path("c").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "prune needs --max-bytes")) << r.err;
  r = run_clean({"cache", "prune", "--max-bytes", "lots"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "'lots' is not a byte count")) << r.err;
  r = run_clean({"cache", "ls", "--max-bytes", "1G"});
  EXPECT_EQ(r.status, 2);
  r = run_clean({"cache", "ls", "extra"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "at most 1 positional argument")) << r.err;
}

}  // namespace
}  // namespace moejit::cli_test
