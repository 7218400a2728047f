// The Wmma and WmmaGguf halves of the kernel template contract: template instantiation and name
// expressions, launch geometry, workspace, shared memory, tile rules and default tiles. The
// formulas mirror templates/wmma.cuh, templates/wmma_decode.cuh, templates/wmma_gguf.cuh and
// templates/tc/tile_map.cuh.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "codegen/arch_limits.hpp"
#include "codegen/variant_templates.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

// Raw staging bytes per weight row and K step (tc::GgufRawSteps::kRawRowBytes).
std::int64_t raw_row_bytes(GgufBlockFormat format, int bk) {
  const BlockLayout& layout = block_layout(format);
  const std::int64_t blocks = bk >= layout.block_elems ? bk / layout.block_elems : 1;
  return 16 * ((blocks * layout.block_bytes + 30) / 16);
}

}  // namespace

int tc_warp_rows(int bm, int bn, int warps) {
  int best = 0;
  int best_long = 0;
  int best_short = 0;
  for (int rows = 1; rows <= warps; ++rows) {
    if (warps % rows != 0) continue;
    const int cols = warps / rows;
    if (bm % (16 * rows) != 0 || bn % (16 * cols) != 0) continue;
    const int tm = bm / rows;
    const int tn = bn / cols;
    const int longer = std::max(tm, tn);
    const int shorter = std::min(tm, tn);
    if (best == 0 || longer * best_short <= best_long * shorter) {
      best = rows;
      best_long = longer;
      best_short = shorter;
    }
  }
  return best;
}

std::int64_t gguf_raw_slots(GgufBlockFormat format, const Tile& t) {
  const int qk = block_layout(format).block_elems;
  const int steps_per_block = t.bk >= qk ? 1 : qk / t.bk;
  return (t.stages - 3) / steps_per_block + 2;
}

std::int64_t gguf_raw_ring_bytes(GgufBlockFormat format, const Tile& t) {
  return gguf_raw_slots(format, t) * t.bn * raw_row_bytes(format, t.bk);
}

}  // namespace moejit

namespace moejit::wmma_codegen {
namespace {

constexpr unsigned kOffsetsThreads = 256;
constexpr std::int64_t kMaxOffsetsCtas = 4096;  // expert_offsets_kernel grid-strides beyond
constexpr std::int64_t kMaxGridYZ = 65535;
constexpr std::int64_t kMaxGridX = INT_MAX;
constexpr int kMaxAccumulators = 128;  // f32 accumulator registers per thread
constexpr std::int64_t kWorkspaceAlign = 256;

// Mirror of moejit::tc::tile_slot_count.
std::int64_t tile_slot_count(std::int64_t size_m, std::int64_t experts, int bm) {
  return size_m <= experts + size_m / bm ? size_m : experts + size_m / bm;
}

bool is_gguf(const KernelSpec& spec) { return spec.variant == MoeVariant::WmmaGguf; }

// A register-weight tile (wgmma_gguf_rw.cuh).
bool uses_reg_weights(const KernelSpec& spec) { return is_gguf(spec) && spec.tile.reg_weights; }
constexpr int kRegWeightsBk = 64;      // WgmmaGgufRwTraits' K step
constexpr int kRegWeightsMaxBm = 192;  // WgmmaGgufRwTraits: n192 accumulators at most
constexpr int kRegWeightsSlice = 32;   // m-tile heights are rounded to 32 entries

// Whether the spec's target runs warpgroup tiles (a tensor-core variant on sm_90a).
bool uses_wgmma_target(const KernelSpec& spec) {
  return (spec.variant == MoeVariant::Wmma || spec.variant == MoeVariant::WmmaGguf) &&
         has_warpgroup_mma(spec.arch);
}

constexpr int kWgmmaBk = 64;            // WgmmaTraits::kBK
constexpr int kWgmmaAlignSlack = 1024;  // WgmmaTraits::kAlignSlack

// Columns each warpgroup of a wgmma tile computes (WgmmaTraits::kGroupN), or 0 when the tile has
// no warpgroup layout.
int wgmma_group_n(const Tile& t) {
  if (t.bm <= 0 || t.bm % 64 != 0 || t.warps % 4 != 0 || t.warps < 4 || t.warps > 16) return 0;
  const int groups = t.warps / 4;
  const int groups_m = t.bm / 64;
  if (groups % groups_m != 0) return 0;
  const int groups_n = groups / groups_m;
  if (t.bn <= 0 || t.bn % groups_n != 0) return 0;
  const int n = t.bn / groups_n;
  return n == 64 || n == 128 || n == 256 ? n : 0;
}

constexpr int kDecodeMaxBlockRegisters = 96;  // WmmaDecodeTraits::kBlockRegisters

// Shared memory of a decode tile (WmmaDecodeTraits::kSmemBytes): the partial sums that the K
// slices other than the first hand over, 4 f32 per lane and 8-entry column group.
std::int64_t decode_shared_bytes(const Tile& t) {
  const int groups = t.bn / 16;
  if (groups <= 0 || t.warps % groups != 0 || t.bm % 8 != 0) return 0;
  return std::int64_t{t.warps - groups} * 32 * 4 * (t.bm / 8) * 4;
}

int block_elems(const KernelSpec& spec) {
  return spec.format ? block_layout(*spec.format).block_elems : 0;
}

// Shared memory of a WmmaGguf tile with `b_tiles` dequantized B tiles (WmmaGgufTraits::kSmemBytes).
std::int64_t gguf_shared_bytes(const KernelSpec& spec, int b_tiles) {
  const Tile& t = spec.tile;
  const std::int64_t ld = t.bk + 8;
  return std::int64_t{t.stages} * t.bm * ld * 2 + gguf_raw_ring_bytes(*spec.format, spec.tile) +
         b_tiles * std::int64_t{t.bn} * ld * 2;
}

// WmmaGguf's kBTiles: one B tile when that lets more CTAs share a multiprocessor than two would
// (shared memory and threads counted; the second barrier per step costs less than the lost
// occupancy), else two.
int b_tiles(const KernelSpec& spec) {
  if (!is_gguf(spec) || !spec.format || spec.tile.bm <= 0 || spec.tile.bn <= 0 ||
      spec.tile.bk <= 0 || spec.tile.stages <= 0)
    return 2;
  const ArchLimits limits = arch_limits(spec.arch);
  const auto resident = [&](std::int64_t bytes) {
    if (bytes > limits.max_shared_per_block) return std::int64_t{0};
    return std::min<std::int64_t>(
        std::int64_t{limits.shared_per_sm} / (bytes + limits.reserved_shared_per_block),
        limits.max_threads_per_sm / (std::int64_t{spec.tile.warps} * 32));
  };
  return resident(gguf_shared_bytes(spec, 1)) > resident(gguf_shared_bytes(spec, 2)) ? 1 : 2;
}

std::string element_type(ElementKind e) {
  return e == ElementKind::Bf16 ? "__nv_bfloat16" : "__half";
}

// "q4_k" -> "moejit::fmt::Q4_K".
std::string format_trait(GgufBlockFormat f) {
  std::string name(format_name(f));
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "moejit::fmt::" + name;
}

// "<Fmt, T, BM, BN, BK, warps, stages" (no closing bracket, no kBTiles).
std::string traits_arguments(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  std::string args = "<";
  if (is_gguf(spec)) args += format_trait(*spec.format) + ", ";
  args += element_type(spec.element) + ", " + std::to_string(t.bm) + ", " + std::to_string(t.bn) +
          ", " + std::to_string(t.bk) + ", " + std::to_string(t.warps) + ", " +
          std::to_string(t.stages);
  return args;
}

// "<T, BM, BN, warps, stages" of wgmma_kernel, "<Fmt, T, BM, BN, BK, warps, stages" of
// wgmma_gguf_kernel (no closing bracket).
std::string wgmma_arguments(const KernelSpec& spec) {
  if (is_gguf(spec)) return traits_arguments(spec);
  const Tile& t = spec.tile;
  std::string args = "<";
  args += element_type(spec.element) + ", " + std::to_string(t.bm) + ", " + std::to_string(t.bn) +
          ", " + std::to_string(t.warps) + ", " + std::to_string(t.stages);
  return args;
}

// "<T, BM, BN, BK, warps" of wmma_decode_kernel and WmmaDecodeTraits (no closing bracket).
std::string decode_arguments(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  std::string args = "<";
  args += element_type(spec.element) + ", " + std::to_string(t.bm) + ", " + std::to_string(t.bn) +
          ", " + std::to_string(t.bk) + ", " + std::to_string(t.warps);
  return args;
}

std::string main_name_expression(const KernelSpec& spec) {
  if (uses_reg_weights(spec))
    return "&moejit::wgmma_gguf_rw_kernel" + traits_arguments(spec) + ", " +
           std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k) + ">";
  if (uses_decode(spec))
    return "&moejit::wmma_decode_kernel" + decode_arguments(spec) + ", " +
           std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k) + ">";
  if (uses_wgmma(spec)) {
    std::string args = wgmma_arguments(spec);
    if (spec.const_n > 0 || spec.const_k > 0)
      args += ", " + std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k);
    return std::string(is_gguf(spec) ? "&moejit::wgmma_gguf_kernel" : "&moejit::wgmma_kernel") +
           args + ">";
  }
  std::string args = traits_arguments(spec);
  const bool one_b_tile = b_tiles(spec) == 1;
  if (spec.const_n > 0 || spec.const_k > 0 || one_b_tile)
    args += ", " + std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k);
  if (one_b_tile) args += ", 1";
  return std::string(is_gguf(spec) ? "&moejit::wmma_gguf_kernel" : "&moejit::wmma_kernel") + args +
         ">";
}

constexpr const char* kOffsetsName = "&moejit::expert_offsets_kernel";

std::string spec_text(const KernelSpec& spec) {
  std::string s(variant_name(spec.variant));
  if (spec.format) s += ":" + std::string(format_name(*spec.format));
  return s + ":" + std::string(element_name(spec.element)) + ":" + spec.arch.to_string() + ":" +
         tile_text(spec.tile);
}

void require_valid(const KernelSpec& spec) {
  if (auto err = wmma_codegen::tile_error(spec))
    throw Error(ErrorCode::InvalidProblem, "kernel " + spec_text(spec) + ": " + *err);
}

std::optional<std::string> dims_error(const KernelSpec& spec, const ProblemDims& d) {
  if (d.size_m < 0 || d.size_m > INT_MAX)
    return "size_m=" + std::to_string(d.size_m) + " must be in [0, 2^31 - 1]";
  if (d.size_n <= 0 || d.size_n > INT_MAX)
    return "size_n=" + std::to_string(d.size_n) + " must be in [1, 2^31 - 1]";
  if (d.size_k <= 0 || d.size_k > INT_MAX)
    return "size_k=" + std::to_string(d.size_k) + " must be in [1, 2^31 - 1]";
  if (d.num_experts <= 0 || d.num_experts >= INT_MAX)
    return "num_experts=" + std::to_string(d.num_experts) + " must be in [1, 2^31 - 2]";
  if (spec.const_n > 0 && d.size_n != spec.const_n)
    return "size_n=" + std::to_string(d.size_n) +
           " differs from the compiled-in n=" + std::to_string(spec.const_n) +
           " (select a kernel for this N)";
  if (spec.const_k > 0 && d.size_k != spec.const_k)
    return "size_k=" + std::to_string(d.size_k) +
           " differs from the compiled-in k=" + std::to_string(spec.const_k) +
           " (select a kernel for this K)";
  if (d.size_k % 8 != 0)
    return "size_k=" + std::to_string(d.size_k) +
           " is not a multiple of 8 (the kernels load activation rows in 16-byte chunks)";
  if (is_gguf(spec) && d.size_k % block_elems(spec) != 0)
    return "size_k=" + std::to_string(d.size_k) + " is not a multiple of " +
           std::to_string(block_elems(spec)) + " (the block size of " +
           std::string(format_name(*spec.format)) + ")";
  return std::nullopt;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The tile rules of the decode kernel (1 stage); the variant, element and arch are checked.
std::optional<std::string> decode_tile_error(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  const std::string text = "decode tile " + tile_text(t);
  if (t.bm != 8 && t.bm != 16)
    return text + ": BM must be 8 or 16 (entries per m-tile, one or two 8-column MMAs)";
  if (t.bn <= 0 || t.bn % 16 != 0)
    return text + ": BN must be a positive multiple of 16 (weight rows, 16 per MMA)";
  if (t.bk <= 0 || t.bk % 32 != 0)
    return text + ": BK must be a positive multiple of 32 (the K elements a warp loads per block)";
  // Two blocks in flight per lane: 16 bytes per 32-element step of 2 weight rows and BM / 8
  // activation rows each.
  const int block_registers = 2 * (t.bk / 32) * (2 + t.bm / 8) * 4;
  if (block_registers > kDecodeMaxBlockRegisters)
    return text + ": BK * (2 + BM / 8) must be at most " +
           std::to_string(kDecodeMaxBlockRegisters * 4) + " (two blocks of operands take " +
           std::to_string(block_registers) + " registers per lane; the limit is " +
           std::to_string(kDecodeMaxBlockRegisters) + "): lower BK";
  const int groups = t.bn / 16;
  if (t.warps < 1 || t.warps > 32 || t.warps % groups != 0)
    return text + ": warps must be a multiple of BN / 16 = " + std::to_string(groups) +
           " (each 16-row group is split over the same number of K slices), 1 to 32";
  return std::nullopt;
}

// The rules of a register-weight tile (wgmma_gguf_rw.cuh); the variant, element and format are
// checked.
std::optional<std::string> reg_weights_tile_error(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  const std::string text = "register-weight tile " + tile_text(t);
  if (!has_register_weight_tiles(*spec.format))
    return text + ": rw tiles take the formats of 32-element blocks (q4_0, q4_1, q5_0, q5_1, " +
           "q8_0), q4_k and q6_k, not " + std::string(format_name(*spec.format)) +
           " (drop rw for the other formats)";
  if (!has_warpgroup_mma(spec.arch))
    return text + ": rw tiles run warpgroup MMAs, which need sm_90a, not " + spec.arch.to_string();
  if (t.bm < kRegWeightsSlice || t.bm > kRegWeightsMaxBm || t.bm % kRegWeightsSlice != 0)
    return text + ": BM (the most entries of an m-tile, the wgmma's N) must be a multiple of " +
           std::to_string(kRegWeightsSlice) + " from " + std::to_string(kRegWeightsSlice) + " to " +
           std::to_string(kRegWeightsMaxBm);
  if (t.bk != kRegWeightsBk) return text + ": BK must be " + std::to_string(kRegWeightsBk);
  if (t.warps % 4 != 0 || t.warps < 4 || t.warps > 16)
    return text + ": warps must be 4, 8, 12 or 16 (whole warpgroups)";
  if (t.bn != 16 * t.warps)
    return text + ": BN must be 16 * warps = " + std::to_string(16 * t.warps) +
           " (each warp holds 16 weight rows)";
  if (t.stages < 3)
    return text + ": stages must be at least 3 (blocks are dequantized one K step ahead)";
  const std::size_t smem = wmma_codegen::shared_bytes(spec);
  const ArchLimits limits = arch_limits(spec.arch);
  if (smem > static_cast<std::size_t>(limits.max_shared_per_block))
    return text + " needs " + std::to_string(smem) + " bytes of shared memory, more than the " +
           std::to_string(limits.max_shared_per_block) + " bytes " + spec.arch.to_string() +
           " allows per block: lower stages or BM";
  return std::nullopt;
}

}  // namespace

bool uses_wgmma(const KernelSpec& spec) {
  if (!uses_wgmma_target(spec) || spec.tile.reg_weights ||
      (spec.element != ElementKind::F16 && spec.element != ElementKind::Bf16) ||
      spec.tile.stages < 3 || wgmma_group_n(spec.tile) == 0)
    return false;
  if (!is_gguf(spec)) return spec.tile.bk == kWgmmaBk;
  // Whole 64-element panels that divide, or are a multiple of, the block size.
  const int bk = spec.tile.bk;
  const int qk = block_elems(spec);
  return (bk == 64 || bk == 128 || bk == 256) && qk > 0 && (bk % qk == 0 || qk % bk == 0);
}

bool uses_decode(const KernelSpec& spec) {
  return spec.variant == MoeVariant::Wmma && spec.tile.stages == 1;
}

std::size_t shared_bytes(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  if (t.bm <= 0 || t.bn <= 0 || t.bk <= 0 || t.stages <= 0) return 0;
  if (uses_decode(spec)) return static_cast<std::size_t>(decode_shared_bytes(t));
  if (uses_reg_weights(spec) && spec.format)  // WgmmaGgufRwTraits::kSmemBytes
    return static_cast<std::size_t>(std::int64_t{t.stages} * t.bm * kRegWeightsBk * 2 +
                                    gguf_raw_ring_bytes(*spec.format, spec.tile) +
                                    kWgmmaAlignSlack);
  if (uses_wgmma(spec) && !is_gguf(spec))
    return static_cast<std::size_t>(std::int64_t{t.stages} * (t.bm + t.bn) * kWgmmaBk * 2 +
                                    kWgmmaAlignSlack);
  if (uses_wgmma(spec))  // WgmmaGgufTraits::kSmemBytes
    return static_cast<std::size_t>(std::int64_t{t.stages} * t.bm * t.bk * 2 +
                                    2 * std::int64_t{t.bn} * t.bk * 2 +
                                    gguf_raw_ring_bytes(*spec.format, spec.tile) +
                                    8 * gguf_raw_slots(*spec.format, spec.tile) + kWgmmaAlignSlack);
  const std::int64_t ld = t.bk + 8;
  if (!is_gguf(spec))
    return static_cast<std::size_t>(std::int64_t{t.stages} * (t.bm + t.bn) * ld * 2);
  if (!spec.format) return 0;
  return static_cast<std::size_t>(gguf_shared_bytes(spec, b_tiles(spec)));
}

std::optional<std::string> tile_error(const KernelSpec& spec) {
  if (spec.variant != MoeVariant::Wmma && spec.variant != MoeVariant::WmmaGguf)
    return std::string(variant_name(spec.variant)) + " is not a tensor-core variant";
  if (spec.element != ElementKind::F16 && spec.element != ElementKind::Bf16)
    return std::string(variant_name(spec.variant)) + " needs element f16 or bf16, not " +
           std::string(element_name(spec.element));
  if (is_gguf(spec) && (!spec.format || !block_layout(*spec.format).weight_format))
    return "wmma_gguf needs a GGUF weight format (q4_0 ... q6_k)";
  if (!is_gguf(spec) && spec.format) return "wmma takes dense weights and no format";
  if (spec.arch.sm < 80)
    return spec.arch.to_string() + ": the tensor-core kernels use mma.sync m16n8k16 (" +
           std::string(element_name(spec.element)) + ") and cp.async, which need sm_80 or newer";
  const Tile& t = spec.tile;
  if (auto why = tile_range_error(t)) return why;
  if (uses_decode(spec)) return decode_tile_error(spec);
  if (uses_reg_weights(spec)) return reg_weights_tile_error(spec);
  if (t.bm <= 0 || t.bm % 16 != 0)
    return "BM=" + std::to_string(t.bm) + " is not a positive multiple of 16 (the MMA tile height)";
  if (t.bn <= 0 || t.bn % 16 != 0)
    return "BN=" + std::to_string(t.bn) +
           " is not a positive multiple of 16 (B fragments are loaded for two n8 tiles at once)";
  const int qk = block_elems(spec);
  if (!is_gguf(spec)) {
    if (t.bk <= 0 || t.bk % 16 != 0)
      return "BK=" + std::to_string(t.bk) + " is not a positive multiple of 16 (the MMA depth)";
  } else {
    if (t.bk <= 0 || t.bk % 32 != 0)
      return "BK=" + std::to_string(t.bk) +
             " is not a positive multiple of 32 (the 32-element groups of GGUF blocks)";
    if (t.bk % qk != 0 && qk % t.bk != 0)
      return "BK=" + std::to_string(t.bk) + " must divide or be a multiple of " +
             std::to_string(qk) + " (the block size of " + std::string(format_name(*spec.format)) +
             ")";
  }
  if (t.warps < 1 || t.warps > 32)
    return "warps=" + std::to_string(t.warps) + " must be 1 to 32 (at most 1024 threads per block)";
  if (t.stages < 2)
    return "stages=" + std::to_string(t.stages) +
           " must be at least 2 (the cp.async ring overlaps loads with MMAs)";
  if (is_gguf(spec) && t.stages < 3)
    return "stages=" + std::to_string(t.stages) +
           " must be at least 3 for wmma_gguf (blocks are dequantized one K step ahead)";
  // A wgmma tile's warpgroup layout and accumulators are valid by construction (uses_wgmma).
  if (!uses_wgmma(spec)) {
    const int rows = tc_warp_rows(t.bm, t.bn, t.warps);
    if (rows == 0)
      return "no warp layout: " + std::to_string(t.warps) + " warps cannot split a " +
             std::to_string(t.bm) + "x" + std::to_string(t.bn) +
             " tile into warp tiles that are multiples of 16x16 (need rows * cols = warps with BM "
             "divisible by 16 * rows and BN by 16 * cols)";
    const int tm = t.bm / rows;
    const int tn = t.bn / (t.warps / rows);
    const int accumulators = (tm / 16) * (tn / 8) * 4;
    if (accumulators > kMaxAccumulators)
      return "warp tile " + std::to_string(tm) + "x" + std::to_string(tn) + " needs " +
             std::to_string(accumulators) + " f32 accumulators per thread (limit " +
             std::to_string(kMaxAccumulators) + "): use more warps or a smaller tile";
  }
  const std::size_t smem = wmma_codegen::shared_bytes(spec);
  const ArchLimits limits = arch_limits(spec.arch);
  if (smem > static_cast<std::size_t>(limits.max_shared_per_block))
    return "tile " + tile_text(t) + " needs " + std::to_string(smem) +
           " bytes of shared memory, more than the " + std::to_string(limits.max_shared_per_block) +
           " bytes " + spec.arch.to_string() + " allows per block: lower stages, BK, BM or BN";
  return std::nullopt;
}

namespace {

// The template of a kernel whose main function lives in `header` and whose traits type
// `traits` (with its arguments) must report the shared memory the launch gives it.
KernelTemplate main_kernel_template(const KernelSpec& spec, const char* header,
                                    const std::string& traits) {
  KernelTemplate out;
  out.includes = {"moe_params.cuh", "expert_offsets.cuh", header};
  out.name_expressions = {main_name_expression(spec), kOffsetsName};
  out.static_asserts = {traits +
                        ">::kSmemBytes == " + std::to_string(wmma_codegen::shared_bytes(spec))};
  return out;
}

}  // namespace

KernelTemplate kernel_template(const KernelSpec& spec) {
  require_valid(spec);
  if (uses_reg_weights(spec))
    return main_kernel_template(spec, "wgmma_gguf_rw.cuh",
                                "moejit::WgmmaGgufRwTraits" + traits_arguments(spec));
  if (uses_decode(spec))
    return main_kernel_template(spec, "wmma_decode.cuh",
                                "moejit::WmmaDecodeTraits" + decode_arguments(spec));
  if (uses_wgmma(spec))
    return is_gguf(spec) ? main_kernel_template(spec, "wgmma_gguf.cuh",
                                                "moejit::WgmmaGgufTraits" + wgmma_arguments(spec))
                         : main_kernel_template(spec, "wgmma.cuh",
                                                "moejit::WgmmaTraits" + wgmma_arguments(spec));
  return is_gguf(spec) ? main_kernel_template(spec, "wmma_gguf.cuh",
                                              "moejit::WmmaGgufTraits" + traits_arguments(spec) +
                                                  (b_tiles(spec) == 1 ? ", 1" : ""))
                       : main_kernel_template(spec, "wmma.cuh",
                                              "moejit::WmmaTraits" + traits_arguments(spec));
}

std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims) {
  require_valid(spec);
  if (auto err = dims_error(spec, dims))
    throw Error(ErrorCode::InvalidProblem, "kernel " + spec_text(spec) + ": " + *err);
  const Tile& t = spec.tile;

  KernelStep offsets;
  offsets.name_expression = kOffsetsName;
  offsets.dims.grid[0] = static_cast<unsigned>(std::min<std::int64_t>(
      ceil_div(dims.size_m + 1, std::int64_t{kOffsetsThreads}), kMaxOffsetsCtas));
  offsets.dims.block[0] = kOffsetsThreads;

  const std::int64_t slots =
      std::max<std::int64_t>(1, tile_slot_count(dims.size_m, dims.num_experts, t.bm));
  if (slots > kMaxGridX)
    throw Error(ErrorCode::InvalidProblem,
                "kernel " + spec_text(spec) + ": " + std::to_string(slots) +
                    " m-tile slots exceed the grid's x limit (2^31 - 1); use a larger BM");
  const std::int64_t n_tiles = ceil_div(dims.size_n, t.bn);
  const std::int64_t grid_y = std::min(n_tiles, kMaxGridYZ);
  const std::int64_t grid_z = ceil_div(n_tiles, grid_y);
  if (grid_z > kMaxGridYZ)
    throw Error(ErrorCode::InvalidProblem, "kernel " + spec_text(spec) +
                                               ": size_n=" + std::to_string(dims.size_n) +
                                               " needs more n-tiles than the grid holds");
  KernelStep main;
  main.name_expression = main_name_expression(spec);
  main.dims.grid[0] = static_cast<unsigned>(slots);
  main.dims.grid[1] = static_cast<unsigned>(grid_y);
  main.dims.grid[2] = static_cast<unsigned>(grid_z);
  main.dims.block[0] = static_cast<unsigned>(t.warps * 32);
  main.dims.shared_bytes = static_cast<unsigned>(wmma_codegen::shared_bytes(spec));
  main.programmatic = spec.arch.sm >= 90;
  offsets.programmatic = spec.arch.sm >= 90;
  offsets.waits_first = true;
  return {offsets, main};
}

WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims) {
  if (dims.num_experts <= 0 || dims.num_experts >= INT_MAX)
    throw Error(ErrorCode::InvalidProblem, "kernel " + spec_text(spec) +
                                               ": num_experts=" + std::to_string(dims.num_experts) +
                                               " must be in [1, 2^31 - 2]");
  WorkspaceLayout w;
  w.offsets_offset = 0;
  w.offsets_bytes = static_cast<std::size_t>(dims.num_experts + 1) * sizeof(std::int32_t);
  w.q8_offset = 0;
  w.q8_bytes = 0;
  w.total = static_cast<std::size_t>(
      ceil_div(static_cast<std::int64_t>(w.offsets_bytes), kWorkspaceAlign) * kWorkspaceAlign);
  return w;
}

Tile default_tile(std::optional<GgufBlockFormat> format, ElementKind element, GpuArch arch,
                  const ProblemDims& dims, bool is_prefill) {
  KernelSpec spec;
  spec.variant = format ? MoeVariant::WmmaGguf : MoeVariant::Wmma;
  spec.format = format;
  spec.element = element == ElementKind::Bf16 ? ElementKind::Bf16 : ElementKind::F16;
  spec.arch = arch;

  // Rows per touched expert decide the m-tile height: the average plus two standard deviations of
  // a random routing, so that most segments fit one m-tile (every m-tile streams the expert's
  // weights once). Tiles from a sweep on an H100 (Mixtral-8x7B and Qwen3-30B-A3B shapes).
  const std::int64_t experts = std::max<std::int64_t>(1, dims.num_experts);
  const std::int64_t active = dims.size_m > 0 ? std::min(experts, dims.size_m) : experts;
  const double average = dims.size_m > 0
                             ? static_cast<double>(dims.size_m) / static_cast<double>(active)
                             : (is_prefill ? 32.0 : 1.0);
  const double rows = average + 2.0 * std::sqrt(average);
  const int sms = typical_sm_count(arch);
  const std::int64_t n = std::max<std::int64_t>(1, dims.size_n);

  if (!format && rows <= 8.0) {
    // A few entries per touched expert (decode steps; a typical segment fits 8 entries): the
    // register-only decode kernel (wmma_decode.cuh), 8 entries x 16 rows per MMA, 128-element K
    // blocks, 8 warps, and K / 512 slices per 16-row group (up to 8), so that each warp loads
    // four blocks of its rows and the 8 warps together keep 4 KB of each row in flight. On an
    // H100 this chose the fastest measured tile, or one within 1%: qwen3-30b-a3b at 1, 8 and 32
    // tokens 8x32x128:w8 (4 slices), mixtral-8x7b at 1, 8 and 16 tokens 8x16x128:w8 (8 slices;
    // at 8 tokens 267 us against 273 for the warpgroup tile, at 16 tokens 306 against 312).
    int slices = 1;
    while (slices < 8 && dims.size_k / (2 * slices) >= 512) slices *= 2;
    return Tile{8, 16 * (8 / slices), 128, 8, 1};
  }
  if (!format && uses_wgmma_target(spec)) {
    // Warpgroup-MMA tiles (wgmma.cuh), from sweeps on an H100: one warpgroup of 64 rows up to
    // 64 rows per expert (64 columns when small experts give few CTAs; 8 stages for the many
    // weight rows of large experts), then two stacked warpgroups of 256 columns (at mixtral's
    // 128-192 rows per expert 376 us, against 397 for three warpgroups of 128 rows). A decode
    // step over so few experts that even 64-column tiles leave SMs idle keeps the 16-row mma.sync
    // tile, whose narrower CTAs are more numerous.
    if (rows <= 16.0 && active * ceil_div(n, 64) < sms) return Tile{16, 64, 128, 4, 6};
    if (rows <= 64.0) {
      Tile t{64, 128, 64, 4, n >= 4096 ? 8 : 4};
      if (n <= 4096 && active * ceil_div(n, 128) < 4 * sms) t.bn = 64;
      return t;
    }
    return Tile{128, 256, 64, 8, 4};
  }

  Tile& t = spec.tile;
  if (!is_prefill || rows <= 16.0) {
    // Decode: weight streaming with deep K steps; narrow n-tiles when few experts are touched.
    t = format ? Tile{16, 64, 64, 4, 3} : Tile{16, 64, 128, 4, 4};
    if (active * ceil_div(n, 64) < 4 * sms)
      t = format ? Tile{16, 32, 64, 2, 3} : Tile{16, 32, 128, 2, 6};
  } else if (rows <= 32.0) {
    t = format ? Tile{32, 64, 64, 4, 3} : Tile{32, 64, 64, 4, 4};
  } else if (rows <= 64.0) {
    t = format ? Tile{64, 64, 64, 8, 3} : Tile{64, 64, 64, 4, 4};
  } else {
    t = format ? Tile{128, 64, 64, 8, 3} : Tile{128, 128, 64, 8, 2};
  }
  if (is_prefill && rows > 16.0 && t.bn > 64 &&
      active * ceil_div(static_cast<std::int64_t>(rows), t.bm) * ceil_div(n, t.bn) < sms)
    t.bn = 64;

  // Shrink to the architecture's shared memory: stages first, then BK (k-quants keep 64), then
  // BN, then BM.
  const std::size_t limit = static_cast<std::size_t>(arch_limits(arch).max_shared_per_block);
  const int min_bk = format && block_layout(*format).block_elems == 256 ? 64 : 32;
  while (wmma_codegen::shared_bytes(spec) > limit) {
    if (t.stages > (format ? 3 : 2))
      --t.stages;
    else if (t.bk > min_bk)
      t.bk /= 2;
    else if (t.bn > 32)
      t.bn /= 2;
    else if (t.bm > 16)
      t.bm /= 2;
    else if (t.bk > 32)
      t.bk /= 2;
    else
      break;
  }
  // Keep the warp layout valid after shrinking (a 16x32 tile holds at most 2 warps).
  while (t.warps > 1 && tc_warp_rows(t.bm, t.bn, t.warps) == 0) t.warps /= 2;
  return t;
}

}  // namespace moejit::wmma_codegen
