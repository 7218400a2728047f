// The problem points of `moejit tune` and the merging of tile table entries.
#include "cli/tune_points.hpp"

#include <algorithm>

namespace moejit::cli {

std::vector<ModelShape> tune_preset(const std::string& name) {
  if (name != "tracked")
    throw BadValue("--preset '" + name +
                   "' is not a tuning preset; allowed: tracked (qwen3-30b-a3b E 128 top_k 8 N 768 "
                   "K 2048 and mixtral-8x7b E 8 top_k 2 N 14336 K 4096)");
  return {ModelShape{"qwen3-30b-a3b", 128, 8, 768, 2048},
          ModelShape{"mixtral-8x7b", 8, 2, 14336, 4096}};
}

std::vector<TuneFamily> tune_families(const std::vector<MoeVariant>& variants,
                                      const std::vector<GgufBlockFormat>& formats,
                                      const std::optional<std::vector<ElementKind>>& elements) {
  const auto has = [&](ElementKind e) {
    return std::find(elements->begin(), elements->end(), e) != elements->end();
  };
  std::vector<TuneFamily> out;
  for (MoeVariant v : variants) {
    std::vector<ElementKind> els;
    if (v == MoeVariant::ScalarGguf) {
      if (!elements || has(ElementKind::F32)) els = {ElementKind::F32};
    } else if (!elements) {
      els = v == MoeVariant::Wmma ? std::vector<ElementKind>{ElementKind::F16, ElementKind::Bf16}
                                  : std::vector<ElementKind>{ElementKind::Bf16};
    } else {
      for (ElementKind e : {ElementKind::F16, ElementKind::Bf16})
        if (has(e)) els.push_back(e);
    }
    for (ElementKind e : els) {
      if (v == MoeVariant::Wmma) {
        out.push_back({v, std::nullopt, e});
        continue;
      }
      for (GgufBlockFormat f : formats) out.push_back({v, f, e});
    }
  }
  return out;
}

std::vector<TunePoint> tune_points(const std::vector<ModelShape>& shapes,
                                   const std::vector<int>& tokens,
                                   const std::vector<TuneFamily>& families) {
  std::vector<TunePoint> out;
  for (const ModelShape& s : shapes)
    for (const TuneFamily& f : families)
      for (int t : tokens) out.push_back({f, s, t});
  return out;
}

MoeDescriptor tune_descriptor(const TunePoint& p) {
  MoeDescriptor d;
  d.num_tokens = p.tokens;
  d.num_experts = p.shape.experts;
  d.top_k = p.shape.top_k;
  d.d_expert = p.shape.d_ff;
  d.d_model = p.shape.d_model;
  d.variant = p.family.variant;
  d.block_format = p.family.format;
  d.element = p.family.element;
  d.is_prefill = p.tokens > 64;
  return d;
}

std::string point_text(const TunePoint& p) {
  std::string text(variant_name(p.family.variant));
  if (p.family.format) text.append(":").append(format_name(*p.family.format));
  text.append(":").append(element_name(p.family.element));
  return text + " T=" + std::to_string(p.tokens) + " E=" + std::to_string(p.shape.experts) +
         " top_k=" + std::to_string(p.shape.top_k) + " N=" + std::to_string(p.shape.d_ff) +
         " K=" + std::to_string(p.shape.d_model);
}

TileTableEntry point_entry(const TunePoint& p, const Tile& tile, double us) {
  return {p.family.variant, p.family.format, p.family.element, p.tokens, p.shape.experts,
          p.shape.top_k,    p.shape.d_ff,    p.shape.d_model,  tile,     us};
}

bool same_point(const TileTableEntry& a, const TileTableEntry& b) {
  return a.variant == b.variant && a.format == b.format && a.element == b.element &&
         a.num_tokens == b.num_tokens && a.num_experts == b.num_experts && a.top_k == b.top_k &&
         a.n == b.n && a.k == b.k;
}

std::vector<TileTableEntry> merge_entries(const std::vector<TileTableEntry>& old,
                                          const std::vector<TileTableEntry>& fresh) {
  std::vector<TileTableEntry> out;
  for (const TileTableEntry& e : old) {
    const bool replaced = std::any_of(fresh.begin(), fresh.end(),
                                      [&](const TileTableEntry& f) { return same_point(e, f); });
    if (!replaced) out.push_back(e);
  }
  out.insert(out.end(), fresh.begin(), fresh.end());
  return out;
}

}  // namespace moejit::cli
