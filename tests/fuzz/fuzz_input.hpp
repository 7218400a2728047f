// Reads typed values off a fuzzer's input bytes. Running out of bytes yields zeros, so every
// input, however short, decodes to some value of every field.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

namespace moejit::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : bytes_(data, size) {}

  template <class T>
  T raw() {
    T value{};
    const std::size_t n = std::min(sizeof(T), bytes_.size());
    std::memcpy(&value, bytes_.data(), n);
    bytes_ = bytes_.subspan(n);
    return value;
  }

  std::uint8_t byte() { return raw<std::uint8_t>(); }
  bool boolean() { return (byte() & 1) != 0; }

  // A value in [0, count).
  std::size_t index(std::size_t count) { return count == 0 ? 0 : raw<std::uint16_t>() % count; }

  // A problem size, drawn so that plausible, boundary and absurd values all come up: small
  // counts, multiples of the GGUF block sizes, powers of two and their neighbours, the int32
  // and int64 limits, negative values, and raw 64-bit patterns.
  std::int64_t dimension() {
    switch (byte() % 8) {
      case 0:
        return byte() % 65;
      case 1:
        return std::int64_t{32} * (raw<std::uint16_t>() % 1025);
      case 2:
        return std::int64_t{256} * (raw<std::uint16_t>() % 513);
      case 3: {
        const int shift = byte() % 63;
        return (std::int64_t{1} << shift) + static_cast<std::int8_t>(byte() % 5) - 2;
      }
      case 4:
        return std::int64_t{2147483647} - byte() % 3;
      case 5:
        return -static_cast<std::int64_t>(byte() % 3);
      case 6:
        return raw<std::int32_t>();
      default:
        return raw<std::int64_t>();
    }
  }

  // Up to max_len bytes as text, length first.
  std::string text(std::size_t max_len) {
    const std::size_t n =
        std::min<std::size_t>(raw<std::uint16_t>() % (max_len + 1), bytes_.size());
    std::string out(reinterpret_cast<const char*>(bytes_.data()), n);
    bytes_ = bytes_.subspan(n);
    return out;
  }

  // Whatever is left.
  std::span<const std::uint8_t> rest_bytes() {
    auto out = bytes_;
    bytes_ = {};
    return out;
  }

 private:
  std::span<const std::uint8_t> bytes_;
};

// A broken property: says which and what, then aborts so the fuzzer keeps the input.
[[noreturn]] inline void fail(std::string_view property, std::string_view detail) {
  std::cerr << "fuzz property broken: " << property << "\n  " << detail << "\n";
  std::abort();
}

}  // namespace moejit::fuzz
