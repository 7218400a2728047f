// The enums of the public API (variants, GGUF block formats, element kinds) and the one table of
// GGUF block layouts that the reference, the generator and the runtime all use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace moejit {

// The three expert-GEMM variants (semantics: docs/semantics.md).
enum class MoeVariant {
  ScalarGguf,  // f32 activations quantized to q8_1, integer dot products over GGUF weights, f32 out
  Wmma,        // dense f16/bf16 activations and weights on tensor cores, output in the element type
  WmmaGguf,    // f16/bf16 activations, GGUF weights dequantized to the element type, f32 out
};

// GGUF block formats. Q8_1 is the activation format of ScalarGguf, not a weight format.
enum class GgufBlockFormat {
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  Q8_1,
};

enum class ElementKind { F32, F16, Bf16 };

struct BlockLayout {
  GgufBlockFormat format;
  std::string_view name;  // as ggml spells it: "q4_0", "q2_k", ...
  int ggml_type;          // ggml's type id
  int block_elems;        // elements per block (32 or 256)
  int block_bytes;        // bytes per block
  bool weight_format;     // usable as expert weights
};

inline constexpr std::array<BlockLayout, 11> kBlockLayouts{{
    {GgufBlockFormat::Q4_0, "q4_0", 2, 32, 18, true},
    {GgufBlockFormat::Q4_1, "q4_1", 3, 32, 20, true},
    {GgufBlockFormat::Q5_0, "q5_0", 6, 32, 22, true},
    {GgufBlockFormat::Q5_1, "q5_1", 7, 32, 24, true},
    {GgufBlockFormat::Q8_0, "q8_0", 8, 32, 34, true},
    {GgufBlockFormat::Q2_K, "q2_k", 10, 256, 84, true},
    {GgufBlockFormat::Q3_K, "q3_k", 11, 256, 110, true},
    {GgufBlockFormat::Q4_K, "q4_k", 12, 256, 144, true},
    {GgufBlockFormat::Q5_K, "q5_k", 13, 256, 176, true},
    {GgufBlockFormat::Q6_K, "q6_k", 14, 256, 210, true},
    {GgufBlockFormat::Q8_1, "q8_1", 9, 32, 36, false},
}};

// The weight formats, in table order.
inline constexpr std::array<GgufBlockFormat, 10> kWeightFormats{
    GgufBlockFormat::Q4_0, GgufBlockFormat::Q4_1, GgufBlockFormat::Q5_0, GgufBlockFormat::Q5_1,
    GgufBlockFormat::Q8_0, GgufBlockFormat::Q2_K, GgufBlockFormat::Q3_K, GgufBlockFormat::Q4_K,
    GgufBlockFormat::Q5_K, GgufBlockFormat::Q6_K};

constexpr const BlockLayout& block_layout(GgufBlockFormat f) {
  return kBlockLayouts[static_cast<std::size_t>(f)];
}

constexpr std::string_view format_name(GgufBlockFormat f) { return block_layout(f).name; }

// Parses a ggml format name (case-insensitive: "q4_K" and "q4_k" both work).
std::optional<GgufBlockFormat> parse_format(std::string_view name);

constexpr std::string_view variant_name(MoeVariant v) {
  switch (v) {
    case MoeVariant::ScalarGguf:
      return "scalar_gguf";
    case MoeVariant::Wmma:
      return "wmma";
    case MoeVariant::WmmaGguf:
      return "wmma_gguf";
  }
  return "?";
}
std::optional<MoeVariant> parse_variant(std::string_view name);

constexpr std::string_view element_name(ElementKind e) {
  switch (e) {
    case ElementKind::F32:
      return "f32";
    case ElementKind::F16:
      return "f16";
    case ElementKind::Bf16:
      return "bf16";
  }
  return "?";
}
std::optional<ElementKind> parse_element(std::string_view name);

constexpr std::size_t element_bytes(ElementKind e) { return e == ElementKind::F32 ? 4 : 2; }

}  // namespace moejit
