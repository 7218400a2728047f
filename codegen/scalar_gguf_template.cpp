// The ScalarGguf half of the kernel template contract: template instantiation and name
// expressions, launch geometry, workspace, tile rules and default tiles. The formulas mirror
// templates/quantize_q8_1.cuh and templates/scalar_gguf.cuh.
#include "codegen/scalar_gguf_template.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <string>

#include "codegen/arch_limits.hpp"
#include "codegen/variant_templates.hpp"
#include "moejit/error.hpp"

namespace moejit::scalar_gguf_codegen {
namespace {

constexpr std::int64_t kMaxGridX = INT_MAX;
constexpr std::int64_t kMaxGridY = 65535;
constexpr std::int64_t kWorkspaceAlign = 256;
constexpr std::int64_t kQ8BlockBytes = 36;
constexpr std::int64_t kQ8BlockElems = 32;
constexpr std::int64_t kMmaBlockWordBytes = 8;  // quantize_q8_1_split_kernel's word per block
constexpr int kWarpsPerQuantizeCta = kQuantizeThreads / 32;

// "q4_k" -> "moejit::vecdot::Q4_K".
std::string format_trait(GgufBlockFormat f) {
  std::string name(format_name(f));
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "moejit::vecdot::" + name;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::int64_t round_up(std::int64_t a, std::int64_t b) { return ceil_div(a, b) * b; }

// f32 factors per weight row and sub-block of a decoded B tile of scalar_gguf_mma_kernel
// (ScalarMmaTraits::kScal): one scale per group (two 16-element groups for q2_K, q3_K and q6_K),
// and as many mins for the formats that have them.
int mma_factors(GgufBlockFormat f) {
  const bool two_groups =
      f == GgufBlockFormat::Q2_K || f == GgufBlockFormat::Q3_K || f == GgufBlockFormat::Q6_K;
  const bool has_min = f == GgufBlockFormat::Q4_1 || f == GgufBlockFormat::Q5_1 ||
                       f == GgufBlockFormat::Q2_K || f == GgufBlockFormat::Q4_K ||
                       f == GgufBlockFormat::Q5_K;
  return (two_groups ? 2 : 1) * (has_min ? 2 : 1);
}

// Dynamic shared memory of scalar_gguf_mma_kernel (ScalarMmaTraits::kSmemBytes): stages A stages
// (bm rows of bk + 16 bytes, then 8 bytes per row and sub-block), the raw weight ring, and two B
// tiles (bn rows of bk + 16 bytes, then the f32 factors per row and sub-block).
std::int64_t mma_shared_bytes(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  const std::int64_t ld = t.bk + 16;
  const std::int64_t subs = t.bk / 32;
  const std::int64_t stage_a = t.bm * ld + t.bm * subs * 8;
  const std::int64_t tile_b = t.bn * ld + t.bn * subs * mma_factors(*spec.format) * 4;
  return t.stages * stage_a + gguf_raw_ring_bytes(*spec.format, t) + 2 * tile_b;
}

// Static shared memory of scalar_gguf_mma_kernel: each window entry's row and expert.
std::int64_t mma_static_bytes(const Tile& t) { return std::int64_t{t.bm} * 2 * 4; }

// The rules of a bm >= 16 tile (int8 tensor cores).
std::optional<std::string> mma_tile_error(const KernelSpec& spec, const std::string& text) {
  const Tile& t = spec.tile;
  const ArchLimits limits = arch_limits(spec.arch);
  if (spec.arch.sm < kMinMmaSm)
    return text + ": tiles with bm >= " + std::to_string(kMmaBlockM) +
           " run on int8 tensor cores (mma.sync m16n8k32, cp.async), which need sm_" +
           std::to_string(kMinMmaSm) + " or newer, not " + spec.arch.to_string() +
           "; pick bm 1 to " + std::to_string(kMaxBlockM);
  if (t.bm % kMmaBlockM != 0 || t.bm > kMaxMmaBlockM)
    return text + ": bm (entries per window) must be 1 to " + std::to_string(kMaxBlockM) +
           " (dp4a) or a multiple of " + std::to_string(kMmaBlockM) + " up to " +
           std::to_string(kMaxMmaBlockM) + " (int8 tensor cores)";
  if (t.bn < 16 || t.bn % 16 != 0)
    return text +
           ": bn (columns per CTA) of an int8 tensor-core tile must be a positive multiple "
           "of 16";
  if (t.warps < 1) return text + ": warps must be at least 1";
  if (t.warps * 32 > limits.max_threads_per_block)
    return text + ": " + std::to_string(t.warps) + " warps are " + std::to_string(t.warps * 32) +
           " threads, over the " + std::to_string(limits.max_threads_per_block) +
           "-thread limit of a CTA";
  if (t.warps * 32 < t.bm)
    return text + ": " + std::to_string(t.warps) + " warps are fewer threads than the " +
           std::to_string(t.bm) + " entries of a window (one thread reads each entry's ids)";
  const int rows = tc_warp_rows(t.bm, t.bn, t.warps);
  if (rows == 0)
    return text + ": no layout of " + std::to_string(t.warps) + " warps over " +
           std::to_string(t.bm) + "x" + std::to_string(t.bn) +
           " gives warp tiles that are multiples of 16x16";
  const int tile_m = t.bm / rows;
  const int tile_n = t.bn / (t.warps / rows);
  if (tile_m * tile_n / 32 > kMaxMmaAccumulators)
    return text + ": warp tiles of " + std::to_string(tile_m) + "x" + std::to_string(tile_n) +
           " need " + std::to_string(tile_m * tile_n / 32) + " accumulators per thread, over " +
           std::to_string(kMaxMmaAccumulators) + "; add warps or shrink the tile";
  const BlockLayout& layout = block_layout(*spec.format);
  const int step = mma_bk_step(*spec.format);
  if (t.bk < step || t.bk % step != 0 ||
      (t.bk % layout.block_elems != 0 && layout.block_elems % t.bk != 0))
    return text + ": bk (the K step) of an int8 tensor-core tile must be a positive multiple of " +
           std::to_string(step) + " (whole decode chunks of " + std::string(layout.name) +
           ") that divides, or is a multiple of, the block size " +
           std::to_string(layout.block_elems);
  if (t.stages < 3 || t.stages > kMaxMmaStages)
    return text + ": stages of an int8 tensor-core tile must be in [3, " +
           std::to_string(kMaxMmaStages) + "] (decoding runs one K step ahead)";
  const std::int64_t smem = mma_shared_bytes(spec) + mma_static_bytes(t);
  if (smem > limits.max_shared_per_block)
    return text + ": " + std::to_string(smem) + " bytes of shared memory are over the " +
           std::to_string(limits.max_shared_per_block) + " bytes of " + spec.arch.to_string();
  return std::nullopt;
}

void require_valid(const KernelSpec& spec) {
  if (auto err = scalar_gguf_codegen::tile_error(spec))
    throw Error(ErrorCode::InvalidProblem, "scalar_gguf spec: " + *err);
}

// Checks the sizes of one call against the spec; throws Error(InvalidProblem) naming the size.
void check_dims(const KernelSpec& spec, const ProblemDims& d) {
  const auto fail = [](const std::string& what) {
    throw Error(ErrorCode::InvalidProblem, "scalar_gguf call: " + what);
  };
  const auto check_int = [&](std::int64_t v, const char* name) {
    if (v < 0) fail(std::string(name) + " = " + std::to_string(v) + " is negative");
    if (v > INT_MAX)
      fail(std::string(name) + " = " + std::to_string(v) +
           " does not fit the kernel's 32-bit argument; split the call");
  };
  check_int(d.size_m, "size_m");
  check_int(d.size_n, "size_n");
  check_int(d.size_k, "size_k");
  check_int(d.num_experts, "num_experts");
  check_int(d.num_pairs, "num_pairs");
  check_int(d.input_rows, "input_rows");
  const BlockLayout& layout = block_layout(*spec.format);
  if (d.size_k == 0 || d.size_k % layout.block_elems != 0)
    fail("size_k = " + std::to_string(d.size_k) + " is not a positive multiple of " +
         std::to_string(layout.block_elems) + ", the block size of " + std::string(layout.name) +
         "; pad K to whole blocks");
  if (spec.const_k != 0 && d.size_k != spec.const_k)
    fail("size_k = " + std::to_string(d.size_k) +
         " but the kernel was compiled for k=" + std::to_string(spec.const_k));
  if (spec.const_n != 0 && d.size_n != spec.const_n)
    fail("size_n = " + std::to_string(d.size_n) +
         " but the kernel was compiled for n=" + std::to_string(spec.const_n));
}

}  // namespace

std::size_t weight_alignment(GgufBlockFormat format) {
  switch (format) {
    case GgufBlockFormat::Q4_K:
    case GgufBlockFormat::Q5_K:
      return 16;
    case GgufBlockFormat::Q4_1:
    case GgufBlockFormat::Q5_1:
    case GgufBlockFormat::Q2_K:
      return 4;
    case GgufBlockFormat::Q4_0:
    case GgufBlockFormat::Q5_0:
    case GgufBlockFormat::Q8_0:
    case GgufBlockFormat::Q3_K:
    case GgufBlockFormat::Q6_K:
      return 2;
    case GgufBlockFormat::Q8_1:
      break;
  }
  throw Error(ErrorCode::InvalidProblem,
              "q8_1 is an activation format, not a weight format; pick a GGUF weight format");
}

int staged_bk_step(GgufBlockFormat format) {
  const BlockLayout& layout = block_layout(format);
  int blocks = 1;
  while (blocks * layout.block_bytes % 16 != 0) ++blocks;
  return blocks * layout.block_elems;
}

std::size_t staged_segment_bytes(GgufBlockFormat format, int bk) {
  const BlockLayout& layout = block_layout(format);
  return static_cast<std::size_t>(bk / layout.block_elems) *
         static_cast<std::size_t>(layout.block_bytes);
}

bool uses_mma(const Tile& tile) { return tile.bm >= kMmaBlockM; }

int mma_bk_step(GgufBlockFormat format) {
  if (format == GgufBlockFormat::Q6_K) return 128;
  return block_layout(format).block_elems == 32 ? 32 : 64;
}

int chunk_elems(GgufBlockFormat format) { return block_layout(format).block_elems == 32 ? 32 : 64; }

namespace {

// The rules of a bm <= 8 tile (dp4a, scalar_gguf_kernel).
std::optional<std::string> dp4a_tile_error(const KernelSpec& spec, const std::string& text) {
  const Tile& t = spec.tile;
  if (t.bm < 1 || t.bm > kMaxBlockM)
    return text + ": bm (entries per CTA) must be in [1, " + std::to_string(kMaxBlockM) +
           "] (dp4a) or a multiple of " + std::to_string(kMmaBlockM) + " up to " +
           std::to_string(kMaxMmaBlockM) + " (int8 tensor cores)";
  if (t.warps < 1) return text + ": warps must be at least 1";
  const ArchLimits limits = arch_limits(spec.arch);
  if (t.warps * 32 > limits.max_threads_per_block)
    return text + ": " + std::to_string(t.warps) + " warps are " + std::to_string(t.warps * 32) +
           " threads, over the " + std::to_string(limits.max_threads_per_block) +
           "-thread limit of a CTA";
  if (t.bn < 1 || t.bn % t.warps != 0)
    return text + ": bn (columns per CTA) must be a positive multiple of warps (" +
           std::to_string(t.warps) + "), since each warp owns bn / warps columns";
  const int cols = t.bn / t.warps;
  if (cols > kMaxColsPerWarp)
    return text + ": bn / warps = " + std::to_string(cols) + " columns per warp is over " +
           std::to_string(kMaxColsPerWarp) +
           " (each column keeps a decoded weight chunk in registers); raise warps or lower bn";
  if (t.bm * cols > kMaxAccumulators)
    return text + ": bm * bn / warps = " + std::to_string(t.bm * cols) +
           " accumulators per thread is over " + std::to_string(kMaxAccumulators) +
           "; lower bm or bn";
  const BlockLayout& layout = block_layout(*spec.format);
  if (t.bk == 0) {
    if (t.stages != 1)
      return text +
             ": stages must be 1 when bk is 0 (lanes load straight from global memory; a "
             "shared-memory ring needs a K segment bk)";
  } else {
    if (t.bk < 0 || t.bk % layout.block_elems != 0)
      return text +
             ": bk (the K segment staged through shared memory) must be 0 or a positive "
             "multiple of " +
             std::to_string(layout.block_elems) + ", the block size of " + std::string(layout.name);
    const std::size_t segment = staged_segment_bytes(*spec.format, t.bk);
    if (segment % 16 != 0)
      return text + ": bk = " + std::to_string(t.bk) + " elements are " + std::to_string(segment) +
             " bytes of " + std::string(layout.name) +
             ", not whole 16-byte words; pick a multiple of " +
             std::to_string(staged_bk_step(*spec.format));
    if (t.stages < 1 || t.stages > kMaxStagedStages)
      return text + ": stages (segments in each warp's shared-memory ring) must be in [1, " +
             std::to_string(kMaxStagedStages) + "]";
  }
  const std::size_t smem = scalar_gguf_codegen::shared_bytes(spec);
  if (smem > static_cast<std::size_t>(limits.max_shared_per_block))
    return text + ": " + std::to_string(smem) + " bytes of shared memory are over the " +
           std::to_string(limits.max_shared_per_block) + " bytes of " + spec.arch.to_string();
  return std::nullopt;
}

}  // namespace

std::optional<std::string> tile_error(const KernelSpec& spec) {
  if (spec.variant != MoeVariant::ScalarGguf)
    return "the spec is for " + std::string(variant_name(spec.variant)) + ", not scalar_gguf";
  if (!spec.format || !block_layout(*spec.format).weight_format)
    return "scalar_gguf needs a GGUF weight format (q4_0 .. q6_k)";
  if (spec.element != ElementKind::F32)
    return "scalar_gguf takes f32 activations and writes f32, so the element must be f32, not " +
           std::string(element_name(spec.element));
  const Tile& t = spec.tile;
  if (auto why = tile_range_error(t)) return why;
  const std::string text = "tile " + tile_text(t);
  if (spec.const_k < 0 || spec.const_n < 0) return "n= and k= must not be negative";
  if (uses_mma(t)) {
    if (auto why = mma_tile_error(spec, text)) return why;
  } else if (auto why = dp4a_tile_error(spec, text)) {
    return why;
  }
  const BlockLayout& layout = block_layout(*spec.format);
  if (spec.const_k != 0 && spec.const_k % layout.block_elems != 0)
    return "k=" + std::to_string(spec.const_k) + " is not a multiple of " +
           std::to_string(layout.block_elems) + " (the block size of " + std::string(layout.name) +
           ")";
  return std::nullopt;
}

KernelTemplate kernel_template(const KernelSpec& spec) {
  require_valid(spec);
  const BlockLayout& layout = block_layout(*spec.format);
  const std::string trait = format_trait(*spec.format);
  const Tile& t = spec.tile;
  KernelTemplate out;
  out.static_asserts = {
      trait + "::kBlockElems == " + std::to_string(layout.block_elems),
      trait + "::kBlockBytes == " + std::to_string(layout.block_bytes),
      "sizeof(" + trait + "::Block) == " + std::to_string(layout.block_bytes),
      trait + "::kWeightAlign == " + std::to_string(weight_alignment(*spec.format)),
      "sizeof(moejit::gguf::BlockQ8_1) == " + std::to_string(kQ8BlockBytes)};
  if (uses_mma(t)) {
    const std::string args = trait + ", " + std::to_string(t.bm) + ", " + std::to_string(t.bn) +
                             ", " + std::to_string(t.bk) + ", " + std::to_string(t.warps) + ", " +
                             std::to_string(t.stages);
    out.includes = {"moe_params.cuh", "formats/blocks.cuh", "formats/vec_dot.cuh",
                    "quantize_q8_1.cuh", "scalar_gguf_mma.cuh"};
    out.name_expressions = {"&moejit::scalar_gguf_mma_kernel<" + args + ", " +
                                std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k) +
                                ">",
                            "&moejit::quantize_q8_1_split_kernel"};
    out.static_asserts.push_back("moejit::ScalarMmaTraits<" + args +
                                 ">::kSmemBytes == " + std::to_string(mma_shared_bytes(spec)));
    out.static_asserts.push_back("moejit::ScalarMmaTraits<" + args +
                                 ">::kScal == " + std::to_string(mma_factors(*spec.format)));
    return out;
  }
  out.includes = {"moe_params.cuh", "formats/blocks.cuh", "formats/vec_dot.cuh",
                  "quantize_q8_1.cuh", "scalar_gguf.cuh"};
  out.name_expressions = {
      "&moejit::scalar_gguf_kernel<" + trait + ", " + std::to_string(t.bm) + ", " +
          std::to_string(t.bn) + ", " + std::to_string(t.warps) + ", " +
          std::to_string(spec.const_n) + ", " + std::to_string(spec.const_k) +
          (t.bk > 0 ? ", " + std::to_string(t.bk) + ", " + std::to_string(t.stages)
                    : std::string()) +
          ">",
      "&moejit::quantize_q8_1_kernel"};
  return out;
}

std::size_t shared_bytes(const KernelSpec& spec) {
  const Tile& t = spec.tile;
  if (!spec.format || t.warps < 1) return 0;
  if (uses_mma(t)) {
    if (t.bk < 32 || t.bn < 1 || t.stages < 1) return 0;
    return static_cast<std::size_t>(mma_shared_bytes(spec));
  }
  if (t.bk <= 0) return 0;
  const std::size_t segment = staged_segment_bytes(*spec.format, t.bk);
  return static_cast<std::size_t>(t.warps) * static_cast<std::size_t>(std::max(t.stages, 1)) *
         static_cast<std::size_t>(t.bn / t.warps) * segment;
}

WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims) {
  require_valid(spec);
  check_dims(spec, dims);
  WorkspaceLayout w;
  w.q8_offset = 0;
  // quantize_q8_1_kernel: 36-byte blocks; quantize_q8_1_split_kernel (int8 tensor-core tiles):
  // the int8 values, then one 8-byte word per block.
  w.q8_bytes = static_cast<std::size_t>(
      uses_mma(spec.tile) ? dims.input_rows * dims.size_k +
                                dims.input_rows * (dims.size_k / kQ8BlockElems) * kMmaBlockWordBytes
                          : dims.input_rows * (dims.size_k / kQ8BlockElems) * kQ8BlockBytes);
  w.total =
      static_cast<std::size_t>(round_up(static_cast<std::int64_t>(w.q8_bytes), kWorkspaceAlign));
  return w;
}

std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims) {
  require_valid(spec);
  check_dims(spec, dims);
  // Nothing to compute: no entries, no columns, or no entry can be valid (no experts, no pairs,
  // no activation rows).
  if (dims.size_m == 0 || dims.size_n == 0 || dims.num_experts == 0 || dims.num_pairs == 0 ||
      dims.input_rows == 0)
    return {};
  const KernelTemplate tmpl = scalar_gguf_codegen::kernel_template(spec);

  KernelStep quantize;
  quantize.name_expression = tmpl.name_expressions[1];
  const std::int64_t q8_blocks = dims.input_rows * (dims.size_k / kQ8BlockElems);
  quantize.dims.grid[0] = static_cast<unsigned>(
      std::clamp<std::int64_t>(ceil_div(q8_blocks, kWarpsPerQuantizeCta), 1, kMaxQuantizeCtas));
  quantize.dims.block[0] = kQuantizeThreads;

  KernelStep main;
  main.name_expression = tmpl.name_expressions[0];
  const Tile& t = spec.tile;
  main.dims.grid[0] =
      static_cast<unsigned>(std::min(ceil_div(dims.size_m, t.bm), kMaxGridX));  // entry windows
  main.dims.grid[1] =
      static_cast<unsigned>(std::min(ceil_div(dims.size_n, t.bn), kMaxGridY));  // column tiles
  main.dims.block[0] = static_cast<unsigned>(t.warps * 32);
  main.dims.shared_bytes = static_cast<unsigned>(scalar_gguf_codegen::shared_bytes(spec));
  main.programmatic = spec.arch.sm >= 90;
  quantize.programmatic = spec.arch.sm >= 90;
  quantize.waits_first = true;
  return {quantize, main};
}

Tile default_tile(GgufBlockFormat format, GpuArch arch, const ProblemDims& dims, bool is_prefill) {
  // Measured on an H100 (qwen3-30b-a3b and mixtral-8x7b shapes, 1..32 tokens): 4 warps of two
  // columns each are the best or within a few percent everywhere (q2_K with one-entry windows:
  // four columns); windows of two entries beat one once the grid has enough CTAs, and four win
  // when experts receive several entries each (their weight chunks are decoded once for all).
  Tile t;
  t.warps = 4;
  t.bn = 8;
  t.bk = 0;
  t.stages = 1;
  const std::int64_t size_m = std::max<std::int64_t>(dims.size_m, 0);
  const std::int64_t touched =
      std::max<std::int64_t>(1, dims.num_experts > 0 ? std::min(dims.num_experts, size_m) : size_m);
  // 16 or more entries per expert on average, on sm_80+: int8 tensor cores (measured on an H100,
  // mixtral-8x7b and qwen3-30b-a3b at 128 and 512 tokens: 2 to 3.4 times faster than the dp4a
  // tiles; at 8 entries per expert the dp4a tiles were as fast or faster).
  if (arch.sm >= kMinMmaSm && size_m >= 16 * touched) {
    t.bm = size_m >= 64 * touched ? 64 : 32;
    t.bn = 64;
    t.bk = 128;
    t.warps = 8;
    t.stages = 3;
    return t;
  }
  const bool crowded = size_m >= 4 * touched;  // experts get four or more entries on average
  t.bm = (is_prefill || crowded) ? 4 : 2;
  const std::int64_t col_tiles = ceil_div(std::max<std::int64_t>(dims.size_n, 1), t.bn);
  const std::int64_t target_ctas = 8LL * typical_sm_count(arch);
  while (t.bm > 1 && ceil_div(size_m, t.bm) * col_tiles < target_ctas) t.bm /= 2;
  if (format == GgufBlockFormat::Q2_K && t.bm == 1) t.bn = 16;
  return t;
}

}  // namespace moejit::scalar_gguf_codegen
