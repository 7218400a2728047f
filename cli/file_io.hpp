// Whole-file input and all-or-nothing output for the CLI: an output appears under its name only
// once it is completely written (temp file in the same directory, then rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace moejit::cli {

// The bytes of `path`. Throws Error(InvalidProblem) naming the path and the reason when the file
// cannot be opened or read.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);

// Writes `bytes` to `path` atomically: into a fresh temp file beside it, flushed, then renamed
// over `path`. On any failure the temp file is removed, `path` is left as it was, and
// Error(InvalidProblem) says what failed.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

// Little-endian f32 <-> host float, whatever the host's byte order.
std::vector<float> floats_from_le_bytes(std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> le_bytes_from_floats(std::span<const float> values);

}  // namespace moejit::cli
