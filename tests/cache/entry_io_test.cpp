// Entry directories round-trip every field, and any damage to them reads as corrupt.
#include "cache/entry_io.hpp"

#include <gtest/gtest.h>

#include "cache/sha256.hpp"
#include "cache_test_support.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;
using cachetest::make_artifact;

class EntryIo : public ::testing::Test {
 protected:
  void SetUp() override {
    artifact_ = make_artifact("wmma_gguf:q4_k:bf16:sm_90a:64x64x32:w4:s3", 50000);
    dir_ = scratch_ / artifact_.digest;
    fs::create_directory(dir_);
    ASSERT_EQ(write_entry(dir_, artifact_, /*sync=*/false), "");
  }
  EntryRead read() { return read_entry(dir_, artifact_.digest); }

  cachetest::ScratchDir scratch_;
  Artifact artifact_;
  fs::path dir_;
};

TEST_F(EntryIo, RoundTripsEveryField) {
  EntryRead r = read();
  ASSERT_EQ(r.status, EntryStatus::Ok) << r.problem;
  EXPECT_TRUE(cachetest::same_artifact(r.artifact, artifact_));
  EXPECT_EQ(cachetest::read_text(dir_ / kKeyFile), artifact_.key_text);
  EXPECT_EQ(r.files.size(), 5u);
}

TEST_F(EntryIo, ManifestOnlyReadSkipsPayloads) {
  EntryRead r = read_entry(dir_, artifact_.digest, /*payloads=*/false);
  ASSERT_EQ(r.status, EntryStatus::Ok) << r.problem;
  EXPECT_EQ(r.artifact.key_text, artifact_.key_text);
  EXPECT_EQ(r.artifact.kernels.size(), 2u);
  EXPECT_TRUE(r.artifact.cubin.empty());
}

TEST_F(EntryIo, FlippedByteInAnyFileIsCorrupt) {
  for (const char* name : {kManifestFile, kKeyFile, kSourceFile, kLogFile, kPtxFile, kCubinFile}) {
    SCOPED_TRACE(name);
    const fs::path f = dir_ / name;
    const auto size = fs::file_size(f);
    for (std::uint64_t offset : {std::uint64_t{0}, size / 2, size - 1}) {
      cachetest::flip_byte(f, offset);
      EntryRead r = read();
      EXPECT_EQ(r.status, EntryStatus::Corrupt);
      EXPECT_FALSE(r.problem.empty());
      cachetest::flip_byte(f, offset);  // undo
      ASSERT_EQ(read().status, EntryStatus::Ok);
    }
  }
}

TEST_F(EntryIo, TruncatedCubinIsCorrupt) {
  cachetest::truncate_file(dir_ / kCubinFile, 1000);
  EntryRead r = read();
  EXPECT_EQ(r.status, EntryStatus::Corrupt);
  EXPECT_NE(r.problem.find("kernel.cubin has 1000 bytes"), std::string::npos) << r.problem;
}

TEST_F(EntryIo, TruncatedOrEmptyManifestIsCorrupt) {
  const auto size = fs::file_size(dir_ / kManifestFile);
  cachetest::truncate_file(dir_ / kManifestFile, size - 3);
  EXPECT_EQ(read().status, EntryStatus::Corrupt);
  cachetest::truncate_file(dir_ / kManifestFile, 0);
  EXPECT_EQ(read().status, EntryStatus::Corrupt);
}

TEST_F(EntryIo, MissingFileIsCorruptMissingDirIsMiss) {
  fs::remove(dir_ / kPtxFile);
  EntryRead r = read();
  EXPECT_EQ(r.status, EntryStatus::Corrupt);
  EXPECT_NE(r.problem.find("kernel.ptx is missing"), std::string::npos) << r.problem;
  EXPECT_EQ(read_entry(scratch_ / "nothing", artifact_.digest).status, EntryStatus::Missing);
}

TEST_F(EntryIo, EntryUnderAnotherDigestIsCorrupt) {
  const std::string other = sha256_hex("another key");
  fs::rename(dir_, scratch_ / other);
  EntryRead r = read_entry(scratch_ / other, other);
  EXPECT_EQ(r.status, EntryStatus::Corrupt);
  EXPECT_NE(r.problem.find("does not match"), std::string::npos) << r.problem;
}

TEST_F(EntryIo, ValidChecksumButWrongFormatVersionIsCorrupt) {
  // Rewrite the manifest with format_version 2 and a body checksum that matches the edit.
  std::string text = cachetest::read_text(dir_ / kManifestFile);
  const std::string prefix = "{\"body_sha256\":\"";
  const std::size_t body_at = prefix.size() + 64 + std::string("\",\"body\":").size();
  std::string body = text.substr(body_at, text.size() - body_at - 2);
  auto pos = body.find("\"format_version\": 1");
  ASSERT_NE(pos, std::string::npos);
  body.replace(pos, 19, "\"format_version\": 2");
  std::string edited = prefix + sha256_hex(body) + "\",\"body\":" + body + "}\n";
  fs::remove(dir_ / kManifestFile);
  cachefs::UniqueFd dfd = cachefs::open_dir(dir_);
  ASSERT_EQ(cachefs::write_new_file(dfd.get(), kManifestFile, edited, false), "");
  EntryRead r = read();
  EXPECT_EQ(r.status, EntryStatus::Corrupt);
  EXPECT_NE(r.problem.find("format version 2"), std::string::npos) << r.problem;
}

TEST_F(EntryIo, UnlistedFilesAreIgnored) {
  ASSERT_EQ(cachefs::replace_file(dir_, kStampFile, "12345"), "");
  EXPECT_EQ(read().status, EntryStatus::Ok);
}

TEST_F(EntryIo, KeyTextThatIsNotUtf8FailsToWriteWithAReason) {
  Artifact bad = make_artifact("bad", 10);
  bad.key_text = std::string("k\xff\xfe");
  fs::create_directory(scratch_ / "bad");
  std::string err = write_entry(scratch_ / "bad", bad, false);
  EXPECT_NE(err.find("manifest"), std::string::npos) << err;
}

}  // namespace
}  // namespace moejit
