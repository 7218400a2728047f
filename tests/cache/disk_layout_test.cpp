// DiskCache with a damaged layout: files where its folders belong, and symbolic links in place of
// entries or of their files. The cache repairs its own folders and never writes or removes
// anything through a link.
#include <gtest/gtest.h>

#include <fstream>

#include "cache/disk_cache.hpp"
#include "cache_test_support.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;
using cachetest::make_artifact;
using cachetest::same_artifact;

const char* const kKey = "wmma:bf16:sm_90a:8x32x128:w8:s1";
const std::string kDecoy = "outside the cache\n";

class DiskLayout : public ::testing::Test {
 protected:
  DiskLayout() {
    options_.sync = false;
    fs::create_directories(scratch_ / "decoy");
    std::ofstream(scratch_ / "decoy" / "file") << kDecoy;
  }
  fs::path root() const { return scratch_ / "cache"; }
  fs::path version() const { return root() / entry_format_dir_name(); }
  fs::path decoy() const { return scratch_ / "decoy"; }
  static void replace_with_file(const fs::path& p) {
    fs::remove_all(p);
    std::ofstream(p) << "not a folder";
  }

  cachetest::ScratchDir scratch_;
  DiskCache::Options options_;
};

TEST_F(DiskLayout, FilesInPlaceOfItsFoldersAreReplaced) {
  const DiskCache cache(root(), options_);
  ASSERT_EQ(cache.prepare(), "");
  const Artifact a = make_artifact(kKey);
  replace_with_file(version() / "tmp");
  replace_with_file(version() / a.digest.substr(0, 2));
  ASSERT_EQ(cache.publish(a).status, PublishStatus::Published);
  const EntryRead r = cache.load(a.digest);
  ASSERT_EQ(r.status, EntryStatus::Ok) << r.problem;
  EXPECT_TRUE(same_artifact(r.artifact, a));

  // Pruning moves entries through tmp/ before removing them: a file there must not stop it.
  replace_with_file(version() / "tmp");
  replace_with_file(version() / "quarantine");
  const PruneResult pruned = cache.prune(0);
  EXPECT_EQ(pruned.removed_entries, 1u);
  EXPECT_EQ(pruned.remaining_bytes, 0u);
  EXPECT_EQ(cache.load(a.digest).status, EntryStatus::Missing);

  replace_with_file(version());
  EXPECT_EQ(cache.prepare(), "");
  EXPECT_TRUE(fs::is_directory(version() / "locks"));
}

TEST_F(DiskLayout, AStampLinkIsReplacedNotWrittenThrough) {
  const DiskCache cache(root(), options_);
  ASSERT_EQ(cache.prepare(), "");
  const Artifact a = make_artifact(kKey);
  ASSERT_EQ(cache.publish(a).status, PublishStatus::Published);
  const fs::path stamp = cache.entry_dir(a.digest) / kStampFile;
  fs::remove(stamp);
  fs::create_symlink(decoy() / "file", stamp);
  cache.touch(a.digest);
  EXPECT_EQ(cachetest::read_text(decoy() / "file"), kDecoy);
  EXPECT_FALSE(fs::is_symlink(fs::symlink_status(stamp)));
  EXPECT_EQ(cache.load(a.digest).status, EntryStatus::Ok);
}

TEST_F(DiskLayout, AnEntryThatIsALinkIsRemovedNotQuarantinedThrough) {
  const DiskCache cache(root(), options_);
  ASSERT_EQ(cache.prepare(), "");
  const Artifact a = make_artifact(kKey);
  const fs::path entry = cache.entry_dir(a.digest);
  fs::create_directories(entry.parent_path());
  fs::create_directory_symlink(decoy(), entry);
  const std::vector<EntryInfo> listed = cache.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].bytes, 0u);  // what the link points at is not walked
  const std::vector<CorruptEntry> corrupt = cache.verify();
  ASSERT_EQ(corrupt.size(), 1u);
  EXPECT_TRUE(corrupt[0].quarantined);
  EXPECT_FALSE(fs::exists(fs::symlink_status(entry)));
  EXPECT_EQ(cachetest::children_of(decoy()).size(), 1u);  // no reason.txt written there
  EXPECT_EQ(cachetest::read_text(decoy() / "file"), kDecoy);
  EXPECT_EQ(cache.publish(a).status, PublishStatus::Published);
  EXPECT_EQ(cache.load(a.digest).status, EntryStatus::Ok);
}

}  // namespace
}  // namespace moejit
