// SHA-256 helpers match the FIPS 180-2 test vectors, in one shot and incrementally.
#include "cache/sha256.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace moejit {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, BytesOverloadAndIncrementalAgree) {
  std::vector<std::uint8_t> bytes(100000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 31);
  std::string text(bytes.begin(), bytes.end());
  Sha256 h;
  h.update(bytes.data(), 1);
  h.update(bytes.data() + 1, 5000);
  h.update(std::string_view(text).substr(5001));
  const std::string inc = h.finish_hex();
  EXPECT_EQ(inc, sha256_hex(bytes));
  EXPECT_EQ(inc, sha256_hex(text));
  // finish_hex starts over.
  h.update("abc");
  EXPECT_EQ(h.finish_hex(), sha256_hex("abc"));
}

TEST(Sha256, HexShapeCheck) {
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_FALSE(is_sha256_hex("abc"));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'A')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "/"));
}

}  // namespace
}  // namespace moejit
