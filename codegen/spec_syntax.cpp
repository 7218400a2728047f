// Parsing of kernel spec text into SpecText and KernelSpec, with errors that point at the part.
#include "codegen/spec_syntax.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

struct Part {
  std::string text;  // lower-cased
  std::size_t offset;
  std::size_t length;
};

std::vector<Part> split_parts(std::string_view text) {
  std::vector<Part> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(':', start);
    if (end == std::string_view::npos) end = text.size();
    std::string lower(text.substr(start, end - start));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    parts.push_back({lower, start, end - start});
    if (end == text.size()) break;
    start = end + 1;
  }
  return parts;
}

std::string join_names(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string weight_format_names() {
  std::string out;
  for (GgufBlockFormat f : kWeightFormats) {
    if (!out.empty()) out += ", ";
    out += format_name(f);
  }
  return out;
}

std::string arch_names() {
  std::string out;
  for (int sm : kSupportedSm) {
    if (!out.empty()) out += ", ";
    out += "sm_" + std::to_string(sm);
    if (sm >= 90) out += ", sm_" + std::to_string(sm) + "a";
  }
  return out;
}

std::string all_part_kinds() {
  return "a weight format (" + weight_format_names() + "), an element type (f32, f16, bf16), " +
         "an architecture (" + arch_names() +
         "), a tile BMxBNxBK (e.g. 64x64x32), warps wN (e.g. w4), stages sN (e.g. s2), "
         "rw (the register-weight tile of wmma_gguf on sm_90a), n=N, k=K";
}

[[noreturn]] void fail(std::string_view text, std::size_t offset, std::size_t length,
                       const std::string& reason, const std::string& allowed) {
  std::string msg = "invalid kernel spec: " + reason + "\n  " + std::string(text) + "\n  " +
                    std::string(offset, ' ') + std::string(std::max<std::size_t>(length, 1), '^');
  if (!allowed.empty()) msg += "\n  allowed: " + allowed;
  throw Error(ErrorCode::InvalidProblem, msg);
}

// A decimal integer in [lo, hi], or nullopt.
std::optional<int> parse_int(std::string_view s, long long lo, long long hi) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

constexpr long long kMaxInt = std::numeric_limits<int>::max();

std::optional<std::string> element_error(MoeVariant variant, ElementKind element) {
  const bool ok =
      variant == MoeVariant::ScalarGguf ? element == ElementKind::F32 : element != ElementKind::F32;
  if (ok) return std::nullopt;
  return "element " + std::string(element_name(element)) + " does not suit " +
         std::string(variant_name(variant)) + " (scalar_gguf takes f32 activations; wmma and " +
         "wmma_gguf take f16 or bf16)";
}

std::string allowed_elements(MoeVariant variant) {
  return variant == MoeVariant::ScalarGguf ? "f32" : "f16, bf16";
}

}  // namespace

SpecText parse_spec_text(std::string_view text) {
  const std::vector<Part> parts = split_parts(text);
  SpecText out;
  const std::string variants =
      join_names({variant_name(MoeVariant::ScalarGguf), variant_name(MoeVariant::Wmma),
                  variant_name(MoeVariant::WmmaGguf)});
  auto variant = parse_variant(parts[0].text);
  if (!variant)
    fail(text, parts[0].offset, parts[0].length,
         parts[0].text.empty() ? "the text names no variant"
                               : "'" + parts[0].text + "' is not a variant",
         variants);
  out.variant = *variant;

  std::vector<const Part*> seen(9, nullptr);  // the part that set each field, for duplicates
  auto set_once = [&](int field, const Part& p, const char* what) {
    if (seen[field] != nullptr)
      fail(text, p.offset, p.length,
           std::string("a second ") + what + " part (the first was '" + seen[field]->text + "')",
           "each kind of part at most once");
    seen[field] = &p;
  };

  for (std::size_t i = 1; i < parts.size(); ++i) {
    const Part& p = parts[i];
    const std::string& t = p.text;
    if (t.empty()) fail(text, p.offset, p.length, "an empty part", all_part_kinds());
    if (t.rfind("sm_", 0) == 0 || t.rfind("compute_", 0) == 0) {
      set_once(0, p, "architecture");
      out.arch = parse_arch(t);
      if (!out.arch || t.rfind("compute_", 0) == 0)
        fail(text, p.offset, p.length, "'" + t + "' is not a supported architecture", arch_names());
    } else if (auto f = parse_format(t)) {
      set_once(1, p, "format");
      if (!block_layout(*f).weight_format)
        fail(text, p.offset, p.length, t + " is an activation format, not a weight format",
             weight_format_names());
      if (out.variant == MoeVariant::Wmma)
        fail(text, p.offset, p.length,
             "wmma takes dense weights and no format (use wmma_gguf for GGUF weights)",
             "an element type (f16, bf16) in this position");
      out.format = f;
    } else if (auto e = parse_element(t)) {
      set_once(2, p, "element");
      if (auto err = element_error(out.variant, *e))
        fail(text, p.offset, p.length, *err, allowed_elements(out.variant));
      out.element = e;
    } else if (std::count(t.begin(), t.end(), 'x') == 2) {
      set_once(3, p, "tile");
      const std::size_t x1 = t.find('x'), x2 = t.find('x', x1 + 1);
      auto bm = parse_int(std::string_view(t).substr(0, x1), 1, kMaxInt);
      auto bn = parse_int(std::string_view(t).substr(x1 + 1, x2 - x1 - 1), 1, kMaxInt);
      auto bk = parse_int(std::string_view(t).substr(x2 + 1), 0, kMaxInt);
      if (!bm || !bn || !bk)
        fail(text, p.offset, p.length, "'" + t + "' is not a tile",
             "BMxBNxBK with BM, BN > 0 and BK >= 0, e.g. 64x64x32");
      out.tile = Tile{*bm, *bn, *bk};
    } else if (t[0] == 'w' && t.size() > 1 && std::isdigit(static_cast<unsigned char>(t[1]))) {
      set_once(4, p, "warps");
      out.warps = parse_int(std::string_view(t).substr(1), 1, 32);
      if (!out.warps)
        fail(text, p.offset, p.length, "'" + t + "' is not a warp count", "w1 .. w32");
    } else if (t[0] == 's' && t.size() > 1 && std::isdigit(static_cast<unsigned char>(t[1]))) {
      set_once(5, p, "stages");
      out.stages = parse_int(std::string_view(t).substr(1), 1, 64);
      if (!out.stages)
        fail(text, p.offset, p.length, "'" + t + "' is not a stage count", "s1 .. s64");
    } else if (t == "rw") {
      set_once(8, p, "rw");
      if (out.variant != MoeVariant::WmmaGguf)
        fail(text, p.offset, p.length, "rw (register-weight tiles) is a wmma_gguf tile option",
             "rw with wmma_gguf only");
      out.reg_weights = true;
    } else if (t.rfind("n=", 0) == 0 || t.rfind("k=", 0) == 0) {
      const bool is_n = t[0] == 'n';
      set_once(is_n ? 6 : 7, p, is_n ? "n=" : "k=");
      auto v = parse_int(std::string_view(t).substr(2), 1, kMaxInt);
      if (!v)
        fail(text, p.offset, p.length, "'" + t + "' does not give a positive size",
             is_n ? "n=N with 1 <= N <= 2147483647" : "k=K with 1 <= K <= 2147483647");
      (is_n ? out.const_n : out.const_k) = v;
    } else if (t[0] == 'q') {
      fail(text, p.offset, p.length, "'" + t + "' is not a weight format", weight_format_names());
    } else {
      fail(text, p.offset, p.length, "'" + t + "' is not a spec part", all_part_kinds());
    }
  }

  if (out.variant != MoeVariant::Wmma && !out.format)
    fail(text, 0, text.size(),
         std::string(variant_name(out.variant)) + " needs a weight format part",
         weight_format_names());
  return out;
}

std::optional<std::string> spec_error(const KernelSpec& spec) {
  const std::string v(variant_name(spec.variant));
  if (spec.variant == MoeVariant::Wmma) {
    if (spec.format) return "wmma takes dense weights and no format (use wmma_gguf)";
  } else {
    if (!spec.format) return v + " needs a weight format (" + weight_format_names() + ")";
    if (!block_layout(*spec.format).weight_format)
      return std::string(format_name(*spec.format)) + " is not a weight format (" +
             weight_format_names() + ")";
  }
  if (auto err = element_error(spec.variant, spec.element)) return err;
  const bool arch_ok = std::find(std::begin(kSupportedSm), std::end(kSupportedSm), spec.arch.sm) !=
                           std::end(kSupportedSm) &&
                       (!spec.arch.arch_specific || spec.arch.sm >= 90);
  if (!arch_ok) return spec.arch.to_string() + " is not supported (" + arch_names() + ")";
  const Tile& t = spec.tile;
  if (t.bm <= 0 || t.bn <= 0 || t.bk < 0 || t.warps <= 0 || t.stages <= 0)
    return "tile " + std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" +
           std::to_string(t.bk) + " w" + std::to_string(t.warps) + " s" + std::to_string(t.stages) +
           " needs BM, BN, warps, stages > 0 and BK >= 0";
  if (spec.const_n < 0 || spec.const_k < 0) return "n= and k= must be positive when given";
  if (spec.const_k > 0) {
    const int multiple = spec.format ? block_layout(*spec.format).block_elems : 8;
    if (spec.const_k % multiple != 0)
      return "k=" + std::to_string(spec.const_k) + " is not a multiple of " +
             std::to_string(multiple) + (spec.format ? " (the block size of " : " (") +
             (spec.format ? std::string(format_name(*spec.format)) + ")"
                          : std::string("16-byte vector loads)"));
  }
  return std::nullopt;
}

KernelSpec parse_kernel_spec(std::string_view text, const SpecDefaults& defaults) {
  const SpecText parts = parse_spec_text(text);
  KernelSpec spec;
  spec.variant = parts.variant;
  spec.format = parts.format;
  spec.element = parts.element.value_or(parts.variant == MoeVariant::ScalarGguf ? ElementKind::F32
                                                                                : ElementKind::F16);
  spec.arch = parts.arch.value_or(kernel_target(parts.variant, defaults.arch));
  spec.const_n = parts.const_n.value_or(0);
  spec.const_k = parts.const_k.value_or(0);
  if (!parts.tile || !parts.warps || !parts.stages) {
    ProblemDims dims = defaults.dims;
    if (spec.const_n > 0) dims.size_n = spec.const_n;
    if (spec.const_k > 0) dims.size_k = spec.const_k;
    spec.tile =
        default_tile(spec.variant, spec.format, spec.element, spec.arch, dims, defaults.is_prefill);
  }
  if (parts.tile) {
    spec.tile.bm = parts.tile->bm;
    spec.tile.bn = parts.tile->bn;
    spec.tile.bk = parts.tile->bk;
  }
  if (parts.warps) spec.tile.warps = *parts.warps;
  if (parts.stages) spec.tile.stages = *parts.stages;
  spec.tile.reg_weights = parts.reg_weights;
  if (auto err = spec_error(spec)) fail(text, 0, text.size(), *err, "");
  if (auto err = tile_error(spec))
    fail(text, 0, text.size(), "tile of " + kernel_key_text(spec) + ": " + *err, "");
  return spec;
}

}  // namespace moejit
