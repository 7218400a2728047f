// Parsing of the public enum names (the inverse of format_name, variant_name, element_name).
#include "moejit/types.hpp"

#include <cctype>
#include <string>

namespace moejit {
namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::optional<GgufBlockFormat> parse_format(std::string_view name) {
  const std::string n = lower(name);
  for (const auto& l : kBlockLayouts)
    if (l.name == n) return l.format;
  return std::nullopt;
}

std::optional<MoeVariant> parse_variant(std::string_view name) {
  const std::string n = lower(name);
  for (MoeVariant v : {MoeVariant::ScalarGguf, MoeVariant::Wmma, MoeVariant::WmmaGguf})
    if (variant_name(v) == n) return v;
  return std::nullopt;
}

std::optional<ElementKind> parse_element(std::string_view name) {
  const std::string n = lower(name);
  for (ElementKind e : {ElementKind::F32, ElementKind::F16, ElementKind::Bf16})
    if (element_name(e) == n) return e;
  return std::nullopt;
}

}  // namespace moejit
