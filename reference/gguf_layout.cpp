// Size arithmetic of GGUF block buffers, with the checks every public entry point shares.
#include <string>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "reference/gguf_block_io.hpp"

namespace moejit {

std::size_t gguf_bytes(GgufBlockFormat f, std::size_t n_elems) {
  const auto& layout = block_layout(f);
  const auto elems = static_cast<std::size_t>(layout.block_elems);
  if (n_elems % elems != 0) {
    throw Error(ErrorCode::InvalidProblem,
                std::string(layout.name) + ": " + std::to_string(n_elems) +
                    " elements is not a whole number of " + std::to_string(elems) +
                    "-element blocks (" + std::to_string(n_elems % elems) +
                    " left over); pad the row to a multiple of " + std::to_string(elems));
  }
  return n_elems / elems * static_cast<std::size_t>(layout.block_bytes);
}

namespace gguf_io {

std::size_t checked_block_count(GgufBlockFormat f, std::size_t n_bytes, std::size_t n_elems,
                                std::string_view op) {
  const auto& layout = block_layout(f);
  const auto bytes = static_cast<std::size_t>(layout.block_bytes);
  const auto elems = static_cast<std::size_t>(layout.block_elems);
  const std::string what = std::string(op) + " " + std::string(layout.name) + ": ";
  if (n_bytes % bytes != 0) {
    throw Error(ErrorCode::InvalidProblem,
                what + std::to_string(n_bytes) + " bytes is not a whole number of " +
                    std::to_string(bytes) + "-byte blocks (" + std::to_string(n_bytes / bytes) +
                    " blocks and " + std::to_string(n_bytes % bytes) + " bytes left over)");
  }
  if (n_elems % elems != 0) {
    throw Error(ErrorCode::InvalidProblem, what + std::to_string(n_elems) +
                                               " values is not a whole number of " +
                                               std::to_string(elems) + "-value blocks (" +
                                               std::to_string(n_elems % elems) + " left over)");
  }
  const std::size_t blocks = n_bytes / bytes;
  if (n_elems / elems != blocks) {
    throw Error(ErrorCode::InvalidProblem,
                what + std::to_string(blocks) + " blocks (" + std::to_string(n_bytes) +
                    " bytes) hold " + std::to_string(blocks * elems) + " values, but the " +
                    "float buffer has " + std::to_string(n_elems) + "; size both for the same " +
                    "number of blocks");
  }
  return blocks;
}

}  // namespace gguf_io
}  // namespace moejit
