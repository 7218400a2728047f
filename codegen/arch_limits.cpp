// Parsing of architecture names.
#include "codegen/arch_limits.hpp"

#include <algorithm>
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
  t.erase(std::remove(t.begin(), t.end(), '.'), t.end());
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  arch.sm = std::stoi(t);
  if (std::find(std::begin(kSupportedSm), std::end(kSupportedSm), arch.sm) ==
      std::end(kSupportedSm))
    return std::nullopt;
  if (arch.arch_specific && arch.sm < 90) return std::nullopt;
  return arch;
}

}  // namespace moejit
