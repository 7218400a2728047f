// Tile tables: JSON reading and writing, the nearest-entry lookup, and the shipped tables.
#include "codegen/tile_table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "codegen/arch_limits.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Problem sizes are int32 in the kernels (and the plan API's limits), and so are stamp numbers.
constexpr std::int64_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorCode::InvalidProblem,
                "tile table " + source_ + ": " + field + " " + what +
                    "; fix the file or regenerate it with `moejit tune` (docs/tuning.md)");
  }

  const Json& member(const Json& object, const std::string& where, const char* name) const {
    const auto it = object.find(name);
    if (it == object.end()) fail(where + name, "is missing");
    return *it;
  }

  std::int64_t integer(const Json& object, const std::string& where, const char* name,
                       std::int64_t min, std::int64_t max = kMaxInt32) const {
    const Json& v = member(object, where, name);
    if (!v.is_number_integer()) fail(where + name, "must be an integer, not " + v.dump());
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max))
      fail(where + name, "must be at most " + std::to_string(max));
    const auto value = v.get<std::int64_t>();
    if (value < min) fail(where + name, "must be at least " + std::to_string(min));
    if (value > max) fail(where + name, "must be at most " + std::to_string(max));
    return value;
  }

  std::string text(const Json& object, const std::string& where, const char* name,
                   bool required) const {
    const auto it = object.find(name);
    if (it == object.end()) {
      if (required) fail(where + name, "is missing");
      return {};
    }
    if (!it->is_string()) fail(where + name, "must be a string, not " + it->dump());
    return it->get<std::string>();
  }

 private:
  std::string source_;
};

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

TileTableStamp read_stamp(const Reader& r, const Json& root) {
  const Json& s = r.member(root, "", "stamp");
  if (!s.is_object()) r.fail("stamp", "must be an object");
  TileTableStamp stamp;
  stamp.schema = static_cast<int>(r.integer(s, "stamp.", "schema", 0));
  if (stamp.schema != kTileTableSchema)
    r.fail("stamp.schema", "is " + std::to_string(stamp.schema) + ", but this build reads schema " +
                               std::to_string(kTileTableSchema));
  stamp.codegen_version = static_cast<int>(r.integer(s, "stamp.", "codegen_version", 0));
  stamp.template_bundle_hash = r.text(s, "stamp.", "template_bundle_hash", true);
  stamp.arch = r.text(s, "stamp.", "arch", true);
  if (!parse_arch(stamp.arch))
    r.fail("stamp.arch", "\"" + stamp.arch + "\" is not a supported architecture (e.g. sm_90)");
  stamp.device = r.text(s, "stamp.", "device", false);
  stamp.date = r.text(s, "stamp.", "date", false);
  if (const auto it = s.find("pinned"); it != s.end()) {
    if (!it->is_boolean()) r.fail("stamp.pinned", "must be true or false, not " + it->dump());
    stamp.pinned = it->get<bool>();
  }
  return stamp;
}

TileTableEntry read_entry(const Reader& r, const Json& e, std::size_t index) {
  const std::string where = "entries[" + std::to_string(index) + "].";
  if (!e.is_object()) r.fail("entries[" + std::to_string(index) + "]", "must be an object");
  TileTableEntry out;
  const std::string variant = r.text(e, where, "variant", true);
  const auto v = parse_variant(variant);
  if (!v) r.fail(where + "variant", "\"" + variant + "\" is not scalar_gguf, wmma or wmma_gguf");
  out.variant = *v;
  const std::string format = r.text(e, where, "format", false);
  if (!format.empty()) {
    const auto f = parse_format(format);
    if (!f || !block_layout(*f).weight_format)
      r.fail(where + "format", "\"" + format + "\" is not a GGUF weight format (q4_0 .. q6_k)");
    out.format = f;
  }
  if (out.variant == MoeVariant::Wmma && out.format)
    r.fail(where + "format", "must be absent for wmma (dense weights)");
  if (out.variant != MoeVariant::Wmma && !out.format)
    r.fail(where + "format", "is missing (" + variant + " needs a GGUF weight format)");
  const std::string element = r.text(e, where, "element", true);
  const auto el = parse_element(element);
  if (!el) r.fail(where + "element", "\"" + element + "\" is not f32, f16 or bf16");
  out.element = *el;
  out.num_tokens = r.integer(e, where, "num_tokens", 1);
  out.num_experts = r.integer(e, where, "num_experts", 1);
  out.top_k = r.integer(e, where, "top_k", 1);
  if (out.top_k > out.num_experts) r.fail(where + "top_k", "must not exceed num_experts");
  if (out.num_tokens * out.top_k > kMaxInt32)
    r.fail(where + "num_tokens", "* top_k must be at most " + std::to_string(kMaxInt32) + " pairs");
  out.n = r.integer(e, where, "n", 1);
  out.k = r.integer(e, where, "k", 1);
  const std::string tile = r.text(e, where, "tile", true);
  const auto t = parse_tile_text(tile);
  if (!t)
    r.fail(where + "tile",
           "\"" + tile + "\" is not BMxBNxBK:wW:sS or BMxBNxBK:wW:sS:rw (e.g. 64x64x32:w4:s3)");
  out.tile = *t;
  if (const auto it = e.find("us"); it != e.end()) {
    if (!it->is_number() || it->get<double>() < 0)
      r.fail(where + "us", "must be a non-negative number, not " + it->dump());
    out.us = it->get<double>();
  }
  return out;
}

double log2_distance(double a, double b) { return std::abs(std::log2(a) - std::log2(b)); }

std::optional<ElementKind> other_16bit(ElementKind e) {
  if (e == ElementKind::F16) return ElementKind::Bf16;
  if (e == ElementKind::Bf16) return ElementKind::F16;
  return std::nullopt;
}

}  // namespace

std::string tile_table_text(const Tile& t) {
  return std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk) + ":w" +
         std::to_string(t.warps) + ":s" + std::to_string(t.stages) + (t.reg_weights ? ":rw" : "");
}

std::optional<Tile> parse_tile_text(std::string_view text) {
  constexpr std::string_view kRegWeights = ":rw";
  const bool reg_weights = text.size() > kRegWeights.size() &&
                           text.substr(text.size() - kRegWeights.size()) == kRegWeights;
  if (reg_weights) text.remove_suffix(kRegWeights.size());
  const std::size_t c1 = text.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  const std::size_t c2 = text.find(':', c1 + 1);
  if (c2 == std::string_view::npos || text.find(':', c2 + 1) != std::string_view::npos)
    return std::nullopt;
  const std::string_view dims = text.substr(0, c1);
  const std::string_view warps = text.substr(c1 + 1, c2 - c1 - 1);
  const std::string_view stages = text.substr(c2 + 1);
  const std::size_t x1 = dims.find('x');
  const std::size_t x2 = x1 == std::string_view::npos ? x1 : dims.find('x', x1 + 1);
  if (x2 == std::string_view::npos || warps.size() < 2 || warps[0] != 'w' || stages.size() < 2 ||
      stages[0] != 's')
    return std::nullopt;
  Tile t;
  t.reg_weights = reg_weights;
  if (!parse_int(dims.substr(0, x1), t.bm) || !parse_int(dims.substr(x1 + 1, x2 - x1 - 1), t.bn) ||
      !parse_int(dims.substr(x2 + 1), t.bk) || !parse_int(warps.substr(1), t.warps) ||
      !parse_int(stages.substr(1), t.stages))
    return std::nullopt;
  if (t.bm < 0 || t.bn < 0 || t.bk < 0 || t.warps < 0 || t.stages < 0) return std::nullopt;
  return t;
}

double rows_per_expert(std::int64_t pairs, std::int64_t experts) {
  if (pairs <= 0) return 1.0;
  const std::int64_t touched = std::max<std::int64_t>(1, std::min(experts, pairs));
  return std::max(1.0, static_cast<double>(pairs) / static_cast<double>(touched));
}

TileTable TileTable::parse(std::string_view json_text, std::string_view source_name) {
  const Reader r(source_name);
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {  // syntax errors, and numbers out of double's range
    r.fail("the JSON", std::string("does not parse: ") + e.what());
  }
  if (!root.is_object()) r.fail("the top level", "must be an object with stamp and entries");
  TileTable table;
  table.stamp = read_stamp(r, root);
  const Json& entries = r.member(root, "", "entries");
  if (!entries.is_array()) r.fail("entries", "must be an array");
  for (std::size_t i = 0; i < entries.size(); ++i)
    table.entries.push_back(read_entry(r, entries[i], i));
  return table;
}

std::string TileTable::to_json() const {
  OrderedJson s;
  s["schema"] = stamp.schema;
  s["codegen_version"] = stamp.codegen_version;
  s["template_bundle_hash"] = stamp.template_bundle_hash;
  s["arch"] = stamp.arch;
  s["device"] = stamp.device;
  s["date"] = stamp.date;
  s["pinned"] = stamp.pinned;
  std::string out = "{\n  \"stamp\": ";
  std::string stamp_text = s.dump(2);
  // Indent the stamp object one level.
  for (std::size_t pos = 0; (pos = stamp_text.find('\n', pos)) != std::string::npos; pos += 3)
    stamp_text.insert(pos + 1, "  ");
  out += stamp_text + ",\n  \"entries\": [";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const TileTableEntry& e = entries[i];
    OrderedJson j;
    j["variant"] = std::string(variant_name(e.variant));
    if (e.format) j["format"] = std::string(format_name(*e.format));
    j["element"] = std::string(element_name(e.element));
    j["num_tokens"] = e.num_tokens;
    j["num_experts"] = e.num_experts;
    j["top_k"] = e.top_k;
    j["n"] = e.n;
    j["k"] = e.k;
    j["tile"] = tile_table_text(e.tile);
    const double us = std::round(e.us * 1000.0) / 1000.0;  // nanosecond resolution
    j["us"] = std::isfinite(us) ? us : e.us;
    out += (i == 0 ? "\n    " : ",\n    ") + j.dump();
  }
  out += entries.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

bool TileTable::serves(const GpuArch& arch) const {
  const auto own = parse_arch(stamp.arch);
  return own && own->sm == arch.sm;
}

std::optional<Tile> TileTable::lookup(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                      ElementKind element, GpuArch arch,
                                      const ProblemDims& dims) const {
  if (!serves(arch)) return std::nullopt;
  return nearest(variant, format, element, arch, dims);
}

std::optional<Tile> TileTable::nearest(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                       ElementKind element, GpuArch arch,
                                       const ProblemDims& dims) const {
  const std::int64_t pairs = dims.size_m > 0 ? dims.size_m : dims.num_pairs;
  const double rows = rows_per_expert(pairs, dims.num_experts);
  const bool has_nk = dims.size_n > 0 && dims.size_k > 0;
  const double nk =
      has_nk ? static_cast<double>(dims.size_n) * static_cast<double>(dims.size_k) : 1.0;
  std::vector<ElementKind> elements{element};
  if (const auto other = other_16bit(element)) elements.push_back(*other);
  for (const ElementKind el : elements) {
    const TileTableEntry* best = nullptr;
    double best_rows = 0, best_nk = 0, best_pairs = 0;
    for (const TileTableEntry& e : entries) {
      if (e.variant != variant || e.format != format || e.element != el) continue;
      KernelSpec spec;
      spec.variant = variant;
      spec.format = format;
      spec.element = element;
      spec.arch = arch;
      spec.tile = e.tile;
      if (tile_error(spec)) continue;
      const double d_rows =
          log2_distance(rows, rows_per_expert(e.num_tokens * e.top_k, e.num_experts));
      const double d_nk =
          has_nk ? log2_distance(nk, static_cast<double>(e.n) * static_cast<double>(e.k)) : 0.0;
      // Equal rows per expert can hide different batch sizes (qwen3's 8 and 64 pairs over 128
      // experts both give 1): the pair count breaks that tie.
      const double d_pairs =
          log2_distance(static_cast<double>(std::max<std::int64_t>(pairs, 1)),
                        static_cast<double>(std::max<std::int64_t>(e.num_tokens * e.top_k, 1)));
      if (best == nullptr || d_rows < best_rows ||
          (d_rows == best_rows && (d_nk < best_nk || (d_nk == best_nk && d_pairs < best_pairs)))) {
        best = &e;
        best_rows = d_rows;
        best_nk = d_nk;
        best_pairs = d_pairs;
      }
    }
    if (best != nullptr) return best->tile;
  }
  return std::nullopt;
}

const TileTable* shipped_tile_table(GpuArch arch) {
  // Parsed once; a shipped table that does not parse is a build defect, reported on use.
  static const std::vector<TileTable> tables = [] {
    std::vector<TileTable> out;
    for (const ShippedTileTableFile& f : shipped_tile_table_files())
      out.push_back(TileTable::parse(f.text, "codegen/tile_tables/" + std::string(f.name)));
    return out;
  }();
  for (const TileTable& t : tables)
    if (t.serves(arch)) return &t;
  return nullptr;
}

}  // namespace moejit
