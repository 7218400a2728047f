// Reads the MOEJIT_* environment variables into Knobs, once per process.
#include "cache/knobs.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string_view>

namespace moejit {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

bool env_flag(const char* name) {
  auto v = env(name);
  return v && *v != "0" && *v != "false" && *v != "off" && *v != "no";
}

std::vector<std::filesystem::path> split_paths(const std::string& s) {
  std::vector<std::filesystem::path> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::optional<std::uint64_t> parse_byte_count(std::string_view text) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  std::string suffix(ptr, text.data() + text.size());
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (suffix.empty() || suffix == "B")
    shift = 0;
  else if (suffix == "K" || suffix == "KIB")
    shift = 10;
  else if (suffix == "M" || suffix == "MIB")
    shift = 20;
  else if (suffix == "G" || suffix == "GIB")
    shift = 30;
  else if (suffix == "T" || suffix == "TIB")
    shift = 40;
  else
    return std::nullopt;
  if (shift > 0 && value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

Knobs Knobs::from_environment() {
  Knobs k;
  if (auto d = env("MOEJIT_CACHE_DIR")) {
    k.cache_dir = *d;
  } else if (auto x = env("XDG_CACHE_HOME")) {
    k.cache_dir = std::filesystem::path(*x) / "moejit";
  } else if (auto h = env("HOME")) {
    k.cache_dir = std::filesystem::path(*h) / ".cache" / "moejit";
  } else {
    k.cache_dir = std::filesystem::temp_directory_path() / "moejit-cache";
  }
  if (auto r = env("MOEJIT_CACHE_READONLY_DIRS")) k.readonly_dirs = split_paths(*r);
  if (auto m = env("MOEJIT_CACHE_MAX_BYTES")) {
    k.cache_max_bytes = parse_byte_count(*m);
    if (!k.cache_max_bytes)
      std::cerr << "moejit: warning: MOEJIT_CACHE_MAX_BYTES='" << *m
                << "' is not a byte count (use e.g. 1073741824 or 1G); no size cap applied\n";
  }
  if (auto t = env("MOEJIT_CACHE_LOCK_TIMEOUT")) {
    double seconds = -1;
    std::size_t pos = 0;
    try {
      seconds = std::stod(*t, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos == t->size() && seconds >= 0 && seconds < 1e6)
      k.cache_lock_timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    else
      std::cerr << "moejit: warning: MOEJIT_CACHE_LOCK_TIMEOUT='" << *t
                << "' is not a number of seconds; using 120\n";
  }
  k.no_jit = env_flag("MOEJIT_NO_JIT");
  k.always_compile = env_flag("MOEJIT_ALWAYS_COMPILE");
  if (auto d = env("MOEJIT_DUMP_DIR")) k.dump_dir = *d;
  if (auto t = env("MOEJIT_TEMPLATE_DIR")) k.template_dir = *t;
  if (auto t = env("MOEJIT_TILE_TABLE")) k.tile_table = *t;
  if (auto l = env("MOEJIT_LOG")) {
    const std::string& v = *l;
    if (v == "off" || v == "0")
      k.log_level = LogLevel::Off;
    else if (v == "error")
      k.log_level = LogLevel::Error;
    else if (v == "warn" || v == "warning")
      k.log_level = LogLevel::Warn;
    else if (v == "info" || v == "1")
      k.log_level = LogLevel::Info;
    else if (v == "debug" || v == "2")
      k.log_level = LogLevel::Debug;
    else
      std::cerr << "moejit: warning: MOEJIT_LOG='" << v
                << "' is not one of off, error, warn, info, debug; using warn\n";
  }
  return k;
}

const Knobs& Knobs::get() {
  static const Knobs knobs = from_environment();
  return knobs;
}

void log_message(LogLevel level, const std::string& message) {
  if (level == LogLevel::Off || static_cast<int>(level) > static_cast<int>(Knobs::get().log_level))
    return;
  static std::mutex mu;
  static constexpr const char* kNames[] = {"off", "error", "warning", "info", "debug"};
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << "moejit: " << kNames[static_cast<int>(level)] << ": " << message << '\n';
}

}  // namespace moejit
