// ArtifactStore in one process: levels, corrupt entries, read-only layers, unwritable caches,
// MOEJIT_NO_JIT and MOEJIT_ALWAYS_COMPILE, the size cap, lock timeouts and maintenance.
#include "cache/artifact_store.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "cache/sha256.hpp"
#include "cache_test_support.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cachetest::CountingCompiler;
using cachetest::make_artifact;
using cachetest::same_artifact;

const char* const kKey = "wmma_gguf:q4_k:bf16:sm_90a:64x64x32:w4:s3";

class Store : public ::testing::Test {
 protected:
  fs::path cache() const { return scratch_ / "cache"; }
  Knobs knobs() const { return cachetest::test_knobs(cache()); }
  std::shared_ptr<const Artifact> get(ArtifactStore& s, CountingCompiler& cc,
                                      LookupInfo* info = nullptr) {
    return s.get_or_compile(cc.digest(), cc.key_text, cc.fn(), info);
  }
  fs::path entry(const std::string& digest) const {
    return cache() / entry_format_dir_name() / digest.substr(0, 2) / digest;
  }
  fs::path quarantine() const { return cache() / entry_format_dir_name() / "quarantine"; }
  bool warnings_shown() const { return Knobs::get().log_level >= LogLevel::Warn; }

  cachetest::ScratchDir scratch_;
};

TEST_F(Store, CompilesOnceThenMemoryThenDiskForAFreshStore) {
  CountingCompiler cc(kKey, 20000);
  ArtifactStore a(knobs());
  LookupInfo info;
  auto first = get(a, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(info.published);
  EXPECT_TRUE(same_artifact(*first, make_artifact(kKey, 20000)));
  auto again = get(a, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Memory);
  EXPECT_EQ(again.get(), first.get());

  ArtifactStore b(knobs());
  auto from_disk = get(b, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Disk);
  EXPECT_TRUE(same_artifact(*from_disk, *first));
  EXPECT_EQ(cc.calls.load(), 1);
  EXPECT_TRUE(fs::exists(entry(cc.digest()) / "kernel.cubin"));
  EXPECT_EQ(cachetest::read_text(entry(cc.digest()) / "key.txt"), kKey);
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "tmp").empty());
  EXPECT_TRUE(cachetest::children_of(cache() / "v1" / "locks").empty());
}

TEST_F(Store, FlippedCubinByteIsQuarantinedOnceAndRebuilt) {
  CountingCompiler cc(kKey, 30000);
  {
    ArtifactStore s(knobs());
    get(s, cc);
  }
  cachetest::flip_byte(entry(cc.digest()) / "kernel.cubin", 12345);
  ArtifactStore s(knobs());
  LookupInfo info;
  testing::internal::CaptureStderr();
  auto a = get(s, cc, &info);
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_NE(info.corrupt.find("kernel.cubin checksum mismatch"), std::string::npos);
  EXPECT_TRUE(same_artifact(*a, make_artifact(kKey, 30000)));
  EXPECT_EQ(cc.calls.load(), 2);
  auto q = cachetest::children_of(quarantine());
  ASSERT_EQ(q.size(), 1u);
  EXPECT_NE(cachetest::read_text(q[0] / "reason.txt").find("checksum"), std::string::npos);
  if (warnings_shown()) {
    EXPECT_EQ(cachetest::count_of(log, "moved to"), 1) << log;
  }
  ArtifactStore fresh(knobs());
  get(fresh, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Disk);
  EXPECT_EQ(cc.calls.load(), 2);
}

TEST_F(Store, TruncatedCubinIsQuarantinedAndRebuilt) {
  CountingCompiler cc(kKey, 30000);
  {
    ArtifactStore s(knobs());
    get(s, cc);
  }
  cachetest::truncate_file(entry(cc.digest()) / "kernel.cubin", 100);
  ArtifactStore s(knobs());
  LookupInfo info;
  auto a = get(s, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_NE(info.corrupt.find("kernel.cubin has 100 bytes"), std::string::npos) << info.corrupt;
  EXPECT_EQ(a->cubin.size(), 30000u);
  EXPECT_EQ(cachetest::children_of(quarantine()).size(), 1u);
  EXPECT_TRUE(s.verify().empty());
}

TEST_F(Store, ReadOnlyLayerIsUsedAndNeverWritten) {
  CountingCompiler cc(kKey);
  const fs::path layer = scratch_ / "layer";
  {
    ArtifactStore filler(cachetest::test_knobs(layer));
    get(filler, cc);
  }
  auto snapshot = [&] {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(layer); it != fs::end(it); ++it)
      out.push_back(it->path().string() + " " +
                    std::to_string(it->is_regular_file() ? it->file_size() : 0) + " " +
                    std::to_string(it->last_write_time().time_since_epoch().count()));
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto before = snapshot();
  std::this_thread::sleep_for(20ms);
  Knobs k = knobs();
  k.readonly_dirs = {scratch_ / "empty-layer", layer};
  ArtifactStore s(k);
  LookupInfo info;
  auto a = get(s, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::ReadOnlyLayer);
  EXPECT_EQ(info.layer, 1);
  EXPECT_EQ(cc.calls.load(), 1);
  EXPECT_TRUE(same_artifact(*a, make_artifact(kKey)));
  EXPECT_TRUE(cachetest::entry_dirs(cache()).empty());
  EXPECT_FALSE(fs::exists(scratch_ / "empty-layer"));
  EXPECT_EQ(snapshot(), before);
  // Maintenance never changes a read-only layer either.
  s.prune(0);
  s.clear();
  EXPECT_EQ(snapshot(), before);
  auto listed = s.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].layer, 1);
}

TEST_F(Store, CorruptReadOnlyEntryIsSkippedWithoutTouchingIt) {
  CountingCompiler cc(kKey);
  const fs::path layer = scratch_ / "layer";
  {
    ArtifactStore filler(cachetest::test_knobs(layer));
    get(filler, cc);
  }
  const fs::path ptx = layer / "v1" / cc.digest().substr(0, 2) / cc.digest() / "kernel.ptx";
  cachetest::flip_byte(ptx, 3);
  Knobs k = knobs();
  k.readonly_dirs = {layer};
  ArtifactStore s(k);
  LookupInfo info;
  get(s, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(fs::exists(ptx));
  auto bad = s.verify();
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_FALSE(bad[0].quarantined);
  EXPECT_EQ(bad[0].layer, 0);
}

TEST_F(Store, UnwritableCacheDirIsMemoryOnlyWithOneWarning) {
  const fs::path file = scratch_ / "regular-file";
  std::ofstream(file) << "not a directory";
  Knobs k = cachetest::test_knobs(file / "cache");
  testing::internal::CaptureStderr();
  for (int round = 0; round < 2; ++round) {
    ArtifactStore s(k);
    for (const char* key : {"wmma:f16:sm_80:32x32x16:w4:s1", "wmma:bf16:sm_80:32x32x16:w4:s1"}) {
      CountingCompiler cc(key);
      LookupInfo info;
      auto a = get(s, cc, &info);
      EXPECT_EQ(info.source, ArtifactSource::Compiled);
      EXPECT_FALSE(info.published);
      EXPECT_TRUE(same_artifact(*a, make_artifact(key)));
      get(s, cc, &info);
      EXPECT_EQ(info.source, ArtifactSource::Memory);
    }
    EXPECT_TRUE(s.memory_only());
    EXPECT_TRUE(s.stats().memory_only);
  }
  std::string log = testing::internal::GetCapturedStderr();
  if (warnings_shown()) {
    EXPECT_EQ(cachetest::count_of(log, "cannot be used"), 1) << log;
    EXPECT_EQ(cachetest::count_of(log, "moejit: warning:"), 1) << log;
  }
}

TEST_F(Store, NoCacheDirIsMemoryOnly) {
  Knobs k;  // cache_dir left empty
  ArtifactStore s(k);
  CountingCompiler cc(kKey);
  LookupInfo info;
  testing::internal::CaptureStderr();
  auto a = get(s, cc, &info);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(s.memory_only());
  EXPECT_TRUE(s.list().empty());
  EXPECT_TRUE(same_artifact(*a, make_artifact(kKey)));
}

TEST_F(Store, NoJitMissIsACacheErrorThatSaysWhatToDo) {
  Knobs k = knobs();
  k.no_jit = true;
  k.always_compile = true;  // NO_JIT wins: the caches are still searched
  ArtifactStore s(k);
  CountingCompiler cc(kKey);
  try {
    get(s, cc);
    FAIL() << "a miss with MOEJIT_NO_JIT must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::CacheError);
    std::string msg = e.what();
    EXPECT_NE(msg.find(kKey), std::string::npos) << msg;
    EXPECT_NE(msg.find(cc.digest()), std::string::npos) << msg;
    EXPECT_NE(msg.find("moejit precompile"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unset MOEJIT_NO_JIT"), std::string::npos) << msg;
  }
  EXPECT_EQ(cc.calls.load(), 0);
  {
    ArtifactStore filler(knobs());
    get(filler, cc);
  }
  LookupInfo info;
  get(s, cc, &info);  // the miss was not remembered
  EXPECT_EQ(info.source, ArtifactSource::Disk);
  EXPECT_EQ(cc.calls.load(), 1);
}

TEST_F(Store, AlwaysCompileSkipsLookupsButStillPublishes) {
  Knobs k = knobs();
  k.always_compile = true;
  CountingCompiler cc(kKey);
  LookupInfo info;
  {
    ArtifactStore s(k);
    get(s, cc, &info);
    EXPECT_EQ(info.source, ArtifactSource::Compiled);
    EXPECT_TRUE(info.published);
    EXPECT_FALSE(s.lookup(sha256_hex("something else")).has_value());
  }
  ArtifactStore s(k);
  get(s, cc, &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_FALSE(info.published);  // a valid entry was there: kept, ours discarded
  EXPECT_EQ(cc.calls.load(), 2);
  EXPECT_EQ(cachetest::entry_dirs(cache()).size(), 1u);
}

TEST_F(Store, SizeCapEvictsLeastRecentlyUsedButNeverTheNewEntry) {
  std::vector<std::unique_ptr<CountingCompiler>> cc;
  for (const char* key : {"a:sm_90", "b:sm_90", "c:sm_90", "d:sm_90", "e:sm_90"})
    cc.push_back(std::make_unique<CountingCompiler>(key, 20000));
  std::uint64_t entry_bytes = 0;
  {
    ArtifactStore s(knobs());
    get(s, *cc[0]);
    entry_bytes = s.list().at(0).bytes;
  }
  Knobs k = knobs();
  k.cache_max_bytes = entry_bytes * 3 + entry_bytes / 2;
  auto fresh_get = [&](int i) {
    ArtifactStore s(k);
    LookupInfo info;
    get(s, *cc[i], &info);
    return info;
  };
  fresh_get(1);
  fresh_get(2);
  EXPECT_EQ(fresh_get(0).source, ArtifactSource::Disk);  // a is now the most recently used
  EXPECT_TRUE(fresh_get(3).published);                   // over the cap: b goes
  auto present = [&](int i) { return fs::exists(entry(cc[i]->digest())); };
  EXPECT_TRUE(present(0));
  EXPECT_FALSE(present(1));
  EXPECT_TRUE(present(2));
  EXPECT_TRUE(present(3));
  EXPECT_EQ(cc[1]->calls.load(), 1);

  k.cache_max_bytes = entry_bytes / 2;  // smaller than one entry: only the new one stays
  EXPECT_TRUE(fresh_get(4).published);
  auto left = cachetest::entry_dirs(cache());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].filename().string(), cc[4]->digest());
}

TEST_F(Store, LockTimeoutCompilesAndPublishesAnyway) {
  CountingCompiler cc(kKey);
  Knobs k = knobs();
  k.cache_lock_timeout = 200ms;
  ArtifactStore s(k);
  ASSERT_FALSE(s.memory_only());
  auto held = FileLock::acquire(cache() / "v1" / "locks" / (cc.digest() + ".lock"), 0ms);
  ASSERT_TRUE(held.has_value());
  LookupInfo info;
  testing::internal::CaptureStderr();
  auto a = get(s, cc, &info);
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(info.published);
  EXPECT_GE(info.wait_ms, 150.0);
  EXPECT_LT(info.wait_ms, 5000.0);
  if (warnings_shown()) {
    EXPECT_NE(log.find("could not take the kernel cache lock"), std::string::npos);
  }
}

TEST_F(Store, MismatchedArtifactsAndBadDigestsAreInternalErrors) {
  ArtifactStore s(knobs());
  auto wrong = [] { return make_artifact("some other key"); };
  try {
    s.get_or_compile(sha256_hex(kKey), kKey, wrong);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Internal);
  }
  try {
    s.get_or_compile("../../etc", kKey, wrong);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Internal);
  }
  EXPECT_TRUE(cachetest::entry_dirs(cache()).empty());
}

TEST_F(Store, StoredKeyTextMustMatchTheRequest) {
  CountingCompiler cc(kKey);
  {
    ArtifactStore s(knobs());
    get(s, cc);
  }
  // An entry whose key text differs from the request (a key derivation bug) is not served.
  ArtifactStore s(knobs());
  LookupInfo info;
  auto compile = [] {
    Artifact a = make_artifact(kKey);
    a.key_text = "other text";
    return a;
  };
  s.get_or_compile(cc.digest(), "other text", compile, &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_NE(info.corrupt.find("differs from the requested"), std::string::npos);
}

TEST_F(Store, MaintenanceListsStatsVerifiesPrunesAndClears) {
  ArtifactStore s(knobs());
  std::vector<std::unique_ptr<CountingCompiler>> cc;
  for (const char* key : {"x:sm_80", "y:sm_80", "z:sm_80"}) {
    cc.push_back(std::make_unique<CountingCompiler>(key, 10000));
    get(s, *cc.back());
  }
  auto listed = s.list();
  ASSERT_EQ(listed.size(), 3u);
  for (const auto& e : listed) {
    EXPECT_EQ(e.arch, "sm_90a");
    EXPECT_GT(e.bytes, 10000u);
    EXPECT_GT(e.last_use_ns, 0);
    EXPECT_EQ(e.layer, -1);
    EXPECT_EQ(e.root, cache());
    EXPECT_EQ(e.digest, sha256_hex(e.key_text));
  }
  StoreStats st = s.stats();
  ASSERT_EQ(st.layers.size(), 1u);
  EXPECT_EQ(st.layers[0].entries, 3u);
  EXPECT_EQ(st.memory_entries, 3u);

  cachetest::flip_byte(entry(cc[1]->digest()) / "source.cu", 0);
  testing::internal::CaptureStderr();
  auto bad = s.verify();
  testing::internal::GetCapturedStderr();
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].digest, cc[1]->digest());
  EXPECT_TRUE(bad[0].quarantined);
  EXPECT_NE(bad[0].reason.find("source.cu"), std::string::npos);
  EXPECT_EQ(s.stats().layers[0].quarantined, 1u);
  EXPECT_EQ(s.list().size(), 2u);

  PruneResult pr = s.prune(listed[0].bytes + 10);  // quarantine first, then LRU down to one
  EXPECT_EQ(pr.removed_entries, 1u);
  EXPECT_EQ(s.stats().layers[0].quarantined, 0u);
  EXPECT_EQ(s.list().size(), 1u);

  PruneResult cleared = s.clear();
  EXPECT_EQ(cleared.removed_entries, 1u);
  EXPECT_FALSE(fs::exists(cache() / "v1"));
  EXPECT_EQ(s.stats().memory_entries, 0u);
  LookupInfo info;
  get(s, *cc[0], &info);
  EXPECT_EQ(info.source, ArtifactSource::Compiled);
  EXPECT_TRUE(info.published);
}

TEST_F(Store, ReadersSeeWholeEntriesWhileAnotherThreadClearsAndRepublishes) {
  CountingCompiler cc(kKey, 100000);
  const Artifact expected = make_artifact(kKey, 100000);
  std::atomic<bool> stop{false};
  std::atomic<int> hits{0}, bad{0};
  std::thread reader([&] {
    while (!stop) {
      ArtifactStore s(knobs());
      auto got = s.lookup(cc.digest());
      if (got) {
        ++hits;
        if (!same_artifact(**got, expected)) ++bad;
      }
    }
  });
  StoreOptions no_sync;
  no_sync.sync = false;
  testing::internal::CaptureStderr();
  for (int i = 0; i < 20; ++i) {
    ArtifactStore w(knobs(), no_sync);
    get(w, cc);
    std::this_thread::sleep_for(2ms);
    w.clear();
  }
  stop = true;
  reader.join();
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(log.find("corrupt"), std::string::npos) << log;
  EXPECT_TRUE(cachetest::children_of(quarantine()).empty());
}

}  // namespace
}  // namespace moejit
