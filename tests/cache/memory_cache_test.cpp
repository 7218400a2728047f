// The memory level compiles once for concurrent requests and never caches a failure.
#include "cache/memory_cache.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "cache/artifact_store.hpp"
#include "cache/sha256.hpp"
#include "cache_test_support.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

using namespace std::chrono_literals;

TEST(MemoryCache, SixteenThreadsProduceOnce) {
  MemoryCache cache;
  std::atomic<int> calls{0};
  auto produce = [&] {
    ++calls;
    std::this_thread::sleep_for(100ms);
    return std::make_shared<const Artifact>(cachetest::make_artifact("k", 64));
  };
  std::vector<MemoryCache::Ptr> got(16);
  std::atomic<int> ran{0}, waited{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      bool r = false, w = false;
      got[i] = cache.get_or_produce("d", produce, &r, &w);
      ran += r;
      waited += w;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(waited.load(), 15);
  for (const auto& p : got) EXPECT_EQ(p.get(), got[0].get());
  EXPECT_EQ(cache.find("d").get(), got[0].get());
}

TEST(MemoryCache, FailureReachesEveryWaiterAndIsRetried) {
  MemoryCache cache;
  std::atomic<int> calls{0};
  auto failing = [&]() -> MemoryCache::Ptr {
    ++calls;
    std::this_thread::sleep_for(100ms);
    throw std::runtime_error("nvrtc said no");
  };
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      try {
        cache.get_or_produce("d", failing);
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "nvrtc said no") ++errors;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(errors.load(), 8);
  EXPECT_EQ(cache.find("d"), nullptr);
  auto ok = cache.get_or_produce("d", [&] {
    ++calls;
    return std::make_shared<const Artifact>(cachetest::make_artifact("k", 64));
  });
  EXPECT_EQ(calls.load(), 2);
  EXPECT_NE(ok, nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ArtifactStoreMemory, SixteenThreadsCompileOnce) {
  cachetest::ScratchDir dir;
  ArtifactStore store(cachetest::test_knobs(dir / "cache"));
  cachetest::CountingCompiler cc("scalar_gguf:q8_0:f32:sm_90a:1x4x0:w4:s1", 4096, 150ms);
  std::vector<std::shared_ptr<const Artifact>> got(16);
  std::vector<LookupInfo> infos(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back(
        [&, i] { got[i] = store.get_or_compile(cc.digest(), cc.key_text, cc.fn(), &infos[i]); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cc.calls.load(), 1);
  int compiled = 0;
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(got[i].get(), got[0].get());
    compiled += infos[i].source == ArtifactSource::Compiled;
  }
  EXPECT_EQ(compiled, 1);
  EXPECT_TRUE(cachetest::same_artifact(*got[0], cachetest::make_artifact(cc.key_text, 4096)));
}

TEST(ArtifactStoreMemory, FailedCompileIsNotCached) {
  cachetest::ScratchDir dir;
  ArtifactStore store(cachetest::test_knobs(dir / "cache"));
  const std::string key = "wmma:f16:sm_80:32x32x16:w4:s1";
  int calls = 0;
  auto failing = [&]() -> Artifact {
    ++calls;
    throw Error(ErrorCode::CompileError, "bad template");
  };
  EXPECT_THROW(store.get_or_compile(sha256_hex(key), key, failing), Error);
  EXPECT_FALSE(store.lookup(sha256_hex(key)).has_value());
  cachetest::CountingCompiler cc(key);
  auto a = store.get_or_compile(cc.digest(), key, cc.fn());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cc.calls.load(), 1);
  EXPECT_EQ(a->key_text, key);
}

}  // namespace
}  // namespace moejit
