// KernelSpec: everything that determines one generated kernel (variant, format, element type,
// tile, target architecture, and which problem sizes are baked in as compile-time constants).
#pragma once

#include <optional>
#include <string>

#include "moejit/types.hpp"

namespace moejit {

// A CUDA target such as sm_80, sm_90 or sm_90a (arch-specific features, for example wgmma).
struct GpuArch {
  int sm = 80;                 // major * 10 + minor
  bool arch_specific = false;  // the "a" suffix
  std::string to_string() const { return "sm_" + std::to_string(sm) + (arch_specific ? "a" : ""); }
  friend bool operator==(const GpuArch&, const GpuArch&) = default;
};

// Tile of one CTA. For the tensor-core variants: bm rows of an expert's segment, bn output
// columns, bk the K step, warps per CTA, and pipeline stages of the shared-memory ring.
// For ScalarGguf: bm entries per CTA, bn output columns per CTA, bk unused (0), stages unused (1).
// reg_weights (spec part "rw"): the WmmaGguf register-weight tile (wgmma_gguf_rw.cuh): bm entries
// at most per m-tile, bn weight rows (16 per warp), the weights dequantized into registers as the
// wgmma A operand and the activations the B operand.
struct Tile {
  int bm = 0;
  int bn = 0;
  int bk = 0;
  int warps = 4;
  int stages = 1;
  bool reg_weights = false;
  friend bool operator==(const Tile&, const Tile&) = default;
};

// The weight formats of register-weight tiles: those of 32-element blocks (q4_0, q4_1, q5_0, q5_1,
// q8_0), q4_K and q6_K, whose traits decode a lane's fragment elements
// (Fmt::dequantize_quad_pairs).
constexpr bool has_register_weight_tiles(GgufBlockFormat f) {
  return (block_layout(f).weight_format && block_layout(f).block_elems == 32) ||
         f == GgufBlockFormat::Q4_K || f == GgufBlockFormat::Q6_K;
}

// A tile as error messages write it: "64x64x32 w4 s3" (" rw" added for a register-weight tile).
std::string tile_text(const Tile& tile);

struct KernelSpec {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;   // required for the GGUF variants, absent for Wmma
  ElementKind element = ElementKind::F16;  // F32 for ScalarGguf
  Tile tile;
  GpuArch arch;
  // Problem sizes compiled in as constants (0 = a run-time argument).
  int const_n = 0;
  int const_k = 0;
  friend bool operator==(const KernelSpec&, const KernelSpec&) = default;
};

}  // namespace moejit
