// SHA-256 digests as lowercase hex (OpenSSL EVP), used for cache keys and entry checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace moejit {

// Incremental SHA-256. Throws moejit::Error(Internal) if OpenSSL cannot provide SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // Returns the 64-character lowercase hex digest; the object then starts over, empty.
  std::string finish_hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The lowercase hex SHA-256 of `text` (64 characters).
std::string sha256_hex(std::string_view text);
// The lowercase hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::span<const std::uint8_t> bytes);

// True when `s` is 64 lowercase hex digits, the form sha256_hex returns.
bool is_sha256_hex(std::string_view s);

}  // namespace moejit
