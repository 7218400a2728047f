// Lock files exclude other holders, give up after the timeout, and disappear on release.
#include "cache/file_lock.hpp"

#include <gtest/gtest.h>

#include "cache_test_support.hpp"

namespace moejit {
namespace {

using namespace std::chrono_literals;

TEST(FileLock, ExcludesOthersAndTimesOut) {
  cachetest::ScratchDir dir;
  const auto path = dir / "k.lock";
  auto first = FileLock::acquire(path, 0ms);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(std::filesystem::exists(path));
  std::string problem;
  auto start = std::chrono::steady_clock::now();
  auto second = FileLock::acquire(path, 150ms, &problem);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(second.has_value());
  EXPECT_NE(problem.find("timed out"), std::string::npos) << problem;
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 2s);
  first->release();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(FileLock::acquire(path, 0ms).has_value());
}

TEST(FileLock, WaiterGetsTheLockWhenTheHolderReleases) {
  cachetest::ScratchDir dir;
  const auto path = dir / "k.lock";
  auto holder = FileLock::acquire(path, 0ms);
  ASSERT_TRUE(holder.has_value());
  std::thread releaser([&] {
    std::this_thread::sleep_for(100ms);
    holder->release();
  });
  auto waiter = FileLock::acquire(path, 5s);
  releaser.join();
  ASSERT_TRUE(waiter.has_value());
  EXPECT_TRUE(waiter->held());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(FileLock, MissingParentIsAReportedFailure) {
  cachetest::ScratchDir dir;
  std::string problem;
  EXPECT_FALSE(FileLock::acquire(dir / "no" / "such" / "k.lock", 10ms, &problem).has_value());
  EXPECT_NE(problem.find("cannot open lock file"), std::string::npos) << problem;
}

}  // namespace
}  // namespace moejit
