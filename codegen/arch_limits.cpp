// Parsing of architecture names.
#include "codegen/arch_limits.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace moejit {

std::optional<GpuArch> parse_arch(std::string_view text) {
  std::string t(text);
  if (t.rfind("sm_", 0) == 0 || t.rfind("compute_", 0) == 0) t = t.substr(t.find('_') + 1);
  GpuArch arch;
  if (!t.empty() && t.back() == 'a') {
    arch.arch_specific = true;
    t.pop_back();
  }
  // "9.0": one digit after at most one dot.
  if (const std::size_t dot = t.find('.'); dot != std::string::npos) {
    if (dot == 0 || dot + 2 != t.size()) return std::nullopt;
    t.erase(dot, 1);
  }
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), arch.sm);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;  // out of int range
  if (std::find(std::begin(kSupportedSm), std::end(kSupportedSm), arch.sm) ==
      std::end(kSupportedSm))
    return std::nullopt;
  if (arch.arch_specific && arch.sm < 90) return std::nullopt;
  return arch;
}

}  // namespace moejit
