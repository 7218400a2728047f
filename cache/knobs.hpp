// Knobs: every MOEJIT_* environment variable, read in this one place (documented in README.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moejit {

enum class LogLevel { Off = 0, Error = 1, Warn = 2, Info = 3, Debug = 4 };

struct Knobs {
  std::filesystem::path cache_dir;                    // MOEJIT_CACHE_DIR, else XDG / ~/.cache
  std::vector<std::filesystem::path> readonly_dirs;   // MOEJIT_CACHE_READONLY_DIRS (a:b:c)
  std::optional<std::uint64_t> cache_max_bytes;       // MOEJIT_CACHE_MAX_BYTES
  bool no_jit = false;                                // MOEJIT_NO_JIT: a cache miss is an error
  bool always_compile = false;                        // MOEJIT_ALWAYS_COMPILE: ignore caches
  std::optional<std::filesystem::path> dump_dir;      // MOEJIT_DUMP_DIR: write sources/PTX here
  LogLevel log_level = LogLevel::Warn;                // MOEJIT_LOG: off|error|warn|info|debug
  std::optional<std::filesystem::path> template_dir;  // MOEJIT_TEMPLATE_DIR: templates from disk
  std::optional<std::filesystem::path> tile_table;    // MOEJIT_TILE_TABLE: a user tile table
  // MOEJIT_CACHE_LOCK_TIMEOUT (seconds, decimals allowed): how long a process waits for another
  // one compiling the same kernel before it compiles the kernel itself.
  std::chrono::milliseconds cache_lock_timeout{120000};

  // Reads the environment now. Malformed values fall back to defaults with a warning on stderr.
  static Knobs from_environment();
  // The process-wide knobs, read once on first use.
  static const Knobs& get();
};

// A byte count as MOEJIT_CACHE_MAX_BYTES and `moejit cache prune --max-bytes` take it: digits
// with an optional K, M, G or T suffix (powers of 1024; also KiB ... TiB and B, any case).
// nullopt when malformed (a sign, spaces, a fraction, an unknown suffix) or past 2^64 - 1.
std::optional<std::uint64_t> parse_byte_count(std::string_view text);

// Writes "moejit: <level>: <message>" to stderr when the level is enabled by MOEJIT_LOG.
void log_message(LogLevel level, const std::string& message);

}  // namespace moejit
