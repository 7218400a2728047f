// SASS of a cubin for `moejit inspect`, from cuobjdump or nvdisasm when one is installed (they
// are optional: moejit itself needs neither).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moejit::cli {

struct SassResult {
  bool ok = false;
  std::string tool;     // path of the disassembler used
  std::string text;     // the SASS when ok
  std::string message;  // why there is none, and how to get it, when not ok
};

// The first of cuobjdump, nvdisasm found on PATH, in $CUDA_HOME/bin or in the bin/ beside the
// CUDA headers the compiler uses; nullopt when none is. `searched` receives the directories.
std::optional<std::filesystem::path> find_disassembler(std::vector<std::string>* searched);

// Writes the cubin to a temporary file, runs the disassembler on it and returns its output.
// Never throws: a missing tool or a failing run is described in SassResult::message, with the
// command to run by hand on `cubin_path_hint` (the cache entry's kernel.cubin) when given.
SassResult disassemble(std::span<const std::uint8_t> cubin, const std::string& cubin_path_hint);

}  // namespace moejit::cli
