// The MOEJIT_* knobs: byte counts (MOEJIT_CACHE_MAX_BYTES, `moejit cache prune --max-bytes`) and
// how a malformed value falls back.
#include "cache/knobs.hpp"

#include <gtest/gtest.h>

#include "tests/scoped_env.hpp"

namespace moejit {
namespace {

TEST(Knobs, ByteCountsTakeBinarySuffixesInAnyCase) {
  EXPECT_EQ(parse_byte_count("0"), 0u);
  EXPECT_EQ(parse_byte_count("1073741824"), 1073741824u);
  EXPECT_EQ(parse_byte_count("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_count("2g"), 2ull << 30);
  EXPECT_EQ(parse_byte_count("3KiB"), 3ull << 10);
  EXPECT_EQ(parse_byte_count("7b"), 7u);
  EXPECT_EQ(parse_byte_count("16777215T"), 16777215ull << 40);
  EXPECT_EQ(parse_byte_count("18446744073709551615"), UINT64_MAX);
}

TEST(Knobs, MalformedOrOverflowingByteCountsAreRefused) {
  // A count that wraps past 2^64 would otherwise become a tiny cap that evicts every entry.
  for (const char* bad : {"", "G", "-1", "-1G", " 1G", "1G ", "1.5G", "1E", "1 G", "0x10",
                          "16777216T", "18446744073709551616", "99999999999T"})
    EXPECT_FALSE(parse_byte_count(bad)) << bad;
}

TEST(Knobs, AMalformedCacheCapIsNoCap) {
  test_support::ScopedEnv cap("MOEJIT_CACHE_MAX_BYTES", "99999999999T");
  const Knobs wrapped = Knobs::from_environment();
  cap.set("2G");
  const Knobs two = Knobs::from_environment();
  EXPECT_EQ(wrapped.cache_max_bytes, std::nullopt);
  EXPECT_EQ(two.cache_max_bytes, 2ull << 30);
}

}  // namespace
}  // namespace moejit
