// Dispatches the kernel_template.hpp functions to the variant that owns the spec, and picks
// default tiles from the tile tables before the heuristics.
#include "codegen/kernel_template.hpp"

#include "codegen/tile_table.hpp"
#include "codegen/variant_templates.hpp"

namespace moejit {

KernelTemplate kernel_template(const KernelSpec& spec) {
  return spec.variant == MoeVariant::ScalarGguf ? scalar_gguf_codegen::kernel_template(spec)
                                                : wmma_codegen::kernel_template(spec);
}

std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims) {
  return spec.variant == MoeVariant::ScalarGguf ? scalar_gguf_codegen::launch_plan(spec, dims)
                                                : wmma_codegen::launch_plan(spec, dims);
}

WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims) {
  return spec.variant == MoeVariant::ScalarGguf ? scalar_gguf_codegen::workspace_layout(spec, dims)
                                                : wmma_codegen::workspace_layout(spec, dims);
}

std::size_t shared_bytes(const KernelSpec& spec) {
  return spec.variant == MoeVariant::ScalarGguf ? scalar_gguf_codegen::shared_bytes(spec)
                                                : wmma_codegen::shared_bytes(spec);
}

std::optional<std::string> tile_range_error(const Tile& t) {
  if (t.bm <= kMaxTileExtent && t.bn <= kMaxTileExtent && t.bk <= kMaxTileExtent &&
      t.warps <= kMaxTileWarps && t.stages <= kMaxTileStages)
    return std::nullopt;
  return "tile " + tile_text(t) + " is out of range: BM, BN and BK must be at most " +
         std::to_string(kMaxTileExtent) + ", warps at most " + std::to_string(kMaxTileWarps) +
         " and stages at most " + std::to_string(kMaxTileStages);
}

std::optional<std::string> tile_error(const KernelSpec& spec) {
  if (spec.tile.reg_weights && spec.variant != MoeVariant::WmmaGguf)
    return "rw (a register-weight tile) is a wmma_gguf tile option, not one of " +
           std::string(variant_name(spec.variant));
  return spec.variant == MoeVariant::ScalarGguf ? scalar_gguf_codegen::tile_error(spec)
                                                : wmma_codegen::tile_error(spec);
}

Tile heuristic_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                    GpuArch arch, const ProblemDims& dims, bool is_prefill) {
  if (variant == MoeVariant::ScalarGguf)
    return scalar_gguf_codegen::default_tile(format.value_or(GgufBlockFormat::Q8_0), arch, dims,
                                             is_prefill);
  return wmma_codegen::default_tile(format, element, arch, dims, is_prefill);
}

Tile default_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                  GpuArch arch, const ProblemDims& dims, bool is_prefill,
                  const TileTable* user_table) {
  if (user_table != nullptr) {
    // A pinned table was accepted for this target by its owner, whatever its stamp says.
    const auto tile = user_table->stamp.pinned
                          ? user_table->nearest(variant, format, element, arch, dims)
                          : user_table->lookup(variant, format, element, arch, dims);
    if (tile) return *tile;
  }
  if (const TileTable* shipped = shipped_tile_table(arch))
    if (const auto tile = shipped->lookup(variant, format, element, arch, dims)) return *tile;
  return heuristic_tile(variant, format, element, arch, dims, is_prefill);
}

Tile default_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                  GpuArch arch, const ProblemDims& dims, bool is_prefill) {
  return default_tile(variant, format, element, arch, dims, is_prefill, nullptr);
}

}  // namespace moejit
