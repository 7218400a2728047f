// Parsing of ptxas -v resource lines.
#include "runtime/ptxas_log.hpp"

#include <cctype>
#include <cstdlib>
#include <vector>

namespace moejit {
namespace {

// Text between the first pair of single quotes, or "".
std::string quoted_name(std::string_view line) {
  const std::size_t a = line.find('\'');
  const std::size_t b = a == std::string_view::npos ? a : line.find('\'', a + 1);
  if (b == std::string_view::npos) return "";
  return std::string(line.substr(a + 1, b - a - 1));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Applies each "<number> <what>" item of a comma-separated list to r.
void apply_items(std::string_view list, KernelResources& r) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.rfind("Used ", 0) == 0 || item.rfind("used ", 0) == 0) item.remove_prefix(5);
    std::size_t digits = 0;
    while (digits < item.size() && std::isdigit(static_cast<unsigned char>(item[digits]))) ++digits;
    if (digits == 0) continue;
    const int value = std::atoi(std::string(item.substr(0, digits)).c_str());
    const std::string_view what = trim(item.substr(digits));
    if (what == "registers")
      r.registers = value;
    else if (what == "bytes smem")
      r.shared_static_bytes = value;
    else if (what == "bytes stack frame" || what == "bytes lmem")
      r.local_bytes = value;
    else if (what == "bytes spill stores")
      r.spill_store_bytes = value;
    else if (what == "bytes spill loads")
      r.spill_load_bytes = value;
  }
}

}  // namespace

std::map<std::string, KernelResources> parse_ptxas_resources(std::string_view log) {
  std::map<std::string, KernelResources> properties;  // any function's stack and spills
  std::map<std::string, KernelResources> entries;
  std::string entry, props_of;
  while (!log.empty()) {
    const std::size_t nl = log.find('\n');
    const std::string_view line = log.substr(0, nl);
    log = nl == std::string_view::npos ? std::string_view() : log.substr(nl + 1);
    if (line.rfind("ptxas", 0) != 0) {
      // nvcc prints the stack line without the "ptxas" prefix.
      if (!props_of.empty() && line.find("bytes stack frame") != std::string_view::npos)
        apply_items(line, properties[props_of]);
      continue;
    }
    const std::size_t colon = line.find(':');
    std::string_view body =
        trim(colon == std::string_view::npos ? line.substr(5) : line.substr(colon + 1));
    if (body.rfind("Compiling entry function", 0) == 0) {
      entry = quoted_name(body);
      entries[entry];
    } else if (body.rfind("Function properties for ", 0) == 0) {
      props_of = std::string(trim(body.substr(24)));
    } else if (body.rfind("Used ", 0) == 0 && !entry.empty()) {
      apply_items(body, entries[entry]);
    } else if (!props_of.empty() && body.find("stack frame") != std::string_view::npos) {
      // "ptxas         .     0 bytes stack frame, ..." (the line has no colon)
      std::string_view items = trim(line.substr(5));
      if (!items.empty() && items.front() == '.') items.remove_prefix(1);
      apply_items(items, properties[props_of]);
    }
  }
  for (auto& [name, r] : entries) {
    auto it = properties.find(name);
    if (it == properties.end()) continue;
    r.local_bytes = it->second.local_bytes;
    r.spill_store_bytes = it->second.spill_store_bytes;
    r.spill_load_bytes = it->second.spill_load_bytes;
  }
  return entries;
}

}  // namespace moejit
