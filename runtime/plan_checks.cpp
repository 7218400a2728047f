// Descriptor, spec, launch-geometry and argument checks of the plan API.
#include "runtime/plan_checks.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "codegen/arch_limits.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"
#include "runtime/tile_table_file.hpp"

namespace moejit::plan_checks {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidProblem, message);
}
[[noreturn]] void unsupported(const std::string& message) {
  throw Error(ErrorCode::Unsupported, message);
}

std::string str(std::int64_t v) { return std::to_string(v); }

// a * b, or Error(Unsupported) naming `what` when the product does not fit in 2^62 bytes.
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what) {
  std::size_t out = 0;
  if (__builtin_mul_overflow(a, b, &out) || out > (std::size_t{1} << 62))
    unsupported(what + " is too large to address (more than 2^62 bytes)");
  return out;
}

std::string variant_text(const MoeDescriptor& d) { return std::string(variant_name(d.variant)); }

void check_element(const MoeDescriptor& d) {
  const bool is_scalar = d.variant == MoeVariant::ScalarGguf;
  const bool ok = is_scalar ? d.element == ElementKind::F32 : d.element != ElementKind::F32;
  if (!ok)
    unsupported("element " + std::string(element_name(d.element)) + " is not supported by " +
                variant_text(d) + ": it takes " + (is_scalar ? "f32" : "f16 or bf16") +
                " activations");
}

void check_format(const MoeDescriptor& d) {
  if (d.variant == MoeVariant::Wmma) {
    if (d.block_format)
      invalid("block_format " + std::string(format_name(*d.block_format)) +
              " given for the dense wmma variant, which takes no block format (use wmma_gguf "
              "for GGUF weights)");
    return;
  }
  if (!d.block_format)
    invalid("block_format is required for " + variant_text(d) +
            " (one of q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k)");
  if (!block_layout(*d.block_format).weight_format)
    invalid("block_format " + std::string(format_name(*d.block_format)) +
            " is an activation format, not a weight format (use one of q4_0 q4_1 q5_0 q5_1 "
            "q8_0 q2_k q3_k q4_k q5_k q6_k)");
}

}  // namespace

OperandSizes validate_descriptor(const MoeDescriptor& d) {
  // 1. Dimensions.
  if (d.num_tokens < 0) invalid("num_tokens must be >= 0 (got " + str(d.num_tokens) + ")");
  if (d.num_experts <= 0) invalid("num_experts must be > 0 (got " + str(d.num_experts) + ")");
  if (d.top_k <= 0) invalid("top_k must be > 0 (got " + str(d.top_k) + ")");
  if (d.d_model <= 0) invalid("d_model must be > 0 (got " + str(d.d_model) + ")");
  if (d.d_expert <= 0) invalid("d_expert must be > 0 (got " + str(d.d_expert) + ")");
  if (d.top_k > d.num_experts)
    invalid("top_k (" + str(d.top_k) + ") must be <= num_experts (" + str(d.num_experts) + ")");
  // 2. Limits of the int32 kernel arithmetic.
  if (d.num_experts > kMaxExperts)
    unsupported("num_experts " + str(d.num_experts) + " exceeds the limit of " + str(kMaxExperts));
  if (d.d_model > kMaxWidth)
    unsupported("d_model " + str(d.d_model) + " exceeds the int32 limit of " + str(kMaxWidth));
  if (d.d_expert > kMaxWidth)
    unsupported("d_expert " + str(d.d_expert) + " exceeds the int32 limit of " + str(kMaxWidth));
  if (d.num_tokens > kMaxPairs || d.num_tokens * d.top_k > kMaxPairs)
    unsupported("num_tokens * top_k (" + str(d.num_tokens) + " * " + str(d.top_k) +
                ") exceeds the limit of " + str(kMaxPairs) + " pairs (int32 pair ids)");
  // 3. Variant, element type and format.
  check_element(d);
  check_format(d);
  const auto K = static_cast<std::size_t>(d.d_model);
  const auto N = static_cast<std::size_t>(d.d_expert);
  const auto E = static_cast<std::size_t>(d.num_experts);
  OperandSizes s;
  s.num_pairs = d.num_tokens * d.top_k;
  if (d.block_format) {
    const BlockLayout& layout = block_layout(*d.block_format);
    if (d.d_model % layout.block_elems != 0)
      invalid("d_model (" + str(d.d_model) + ") must be a multiple of " +
              std::to_string(layout.block_elems) + ", the block size of " +
              std::string(layout.name));
    s.weight_row_bytes = K / layout.block_elems * layout.block_bytes;
  } else {
    if (d.d_model % 8 != 0)
      unsupported("d_model (" + str(d.d_model) +
                  ") must be a multiple of 8 for wmma (16-byte vector loads of K)");
    s.weight_row_bytes = K * element_bytes(d.element);
  }
  s.activation_elem = element_bytes(d.element);
  s.output_elem = d.variant == MoeVariant::Wmma ? element_bytes(d.element) : 4;
  s.activation_row_bytes = K * s.activation_elem;
  s.weight_bytes = checked_mul(checked_mul(E, N, "the expert weights"), s.weight_row_bytes,
                               "the expert weights");
  s.output_bytes = checked_mul(checked_mul(static_cast<std::size_t>(s.num_pairs), N, "the output"),
                               s.output_elem, "the output");
  checked_mul(static_cast<std::size_t>(s.num_pairs), s.activation_row_bytes, "the activations");
  return s;
}

void validate_arch(const MoeDescriptor& d, const GpuArch& arch) {
  if (std::find(std::begin(kSupportedSm), std::end(kSupportedSm), arch.sm) ==
      std::end(kSupportedSm))
    unsupported("architecture " + arch.to_string() +
                " is not supported (moejit generates code for sm_80, sm_86, sm_87, sm_89, sm_90 "
                "and sm_90a)");
  if (d.element == ElementKind::Bf16 && arch.sm < 80)
    unsupported("element bf16 needs sm_80 or newer (target is " + arch.to_string() + ")");
}

ProblemDims problem_dims(const MoeDescriptor& d, std::int64_t size_m, bool weighted) {
  ProblemDims dims;
  dims.size_m = size_m;
  dims.size_n = d.d_expert;
  dims.size_k = d.d_model;
  dims.num_experts = d.num_experts;
  dims.num_pairs = d.num_tokens * d.top_k;
  dims.input_rows = weighted ? dims.num_pairs : d.num_tokens;
  return dims;
}

KernelSpec make_spec(const MoeDescriptor& d, const GpuArch& arch, bool specialize_sizes,
                     const std::optional<std::string>& tile_table) {
  KernelSpec spec;
  spec.variant = d.variant;
  spec.format = d.block_format;
  spec.element = d.element;
  spec.arch = kernel_target(d.variant, arch);
  if (specialize_sizes) {
    spec.const_n = static_cast<int>(d.d_expert);
    spec.const_k = static_cast<int>(d.d_model);
  }
  if (d.tile) {
    spec.tile = Tile{d.tile->bm,    d.tile->bn,     d.tile->bk,
                     d.tile->warps, d.tile->stages, d.tile->reg_weights};
  } else {
    // The user's table (checked against this spec), then the shipped one, then the heuristics.
    const std::shared_ptr<const TileTable> user = user_tile_table(tile_table, spec);
    const ProblemDims dims = problem_dims(d, d.num_tokens * d.top_k, /*weighted=*/true);
    spec.tile = default_tile(d.variant, d.block_format, d.element, spec.arch, dims, d.is_prefill,
                             user.get());
  }
  return spec;
}

void validate_spec(const KernelSpec& spec, bool tile_requested) {
  if (auto why = spec_error(spec)) {
    if (tile_requested) invalid("tile: " + *why);
    unsupported(*why);
  }
  if (auto why = tile_error(spec)) {
    if (tile_requested) invalid("tile " + tile_text(spec.tile) + " cannot be used: " + *why);
    unsupported("the default tile " + tile_text(spec.tile) +
                " for this problem cannot be used: " + *why);
  }
}

void validate_launches(std::span<const KernelStep> steps, const GpuArch& arch,
                       std::string_view kernel_key) {
  const ArchLimits limits = arch_limits(arch);
  for (const KernelStep& step : steps) {
    const std::string where =
        "launch of " + step.name_expression + " [kernel " + std::string(kernel_key) + "]: ";
    const LaunchDims& l = step.dims;
    if (l.grid[0] > kMaxGridX)
      unsupported(where + "grid.x " + std::to_string(l.grid[0]) + " exceeds " + str(kMaxGridX));
    for (int i = 1; i < 3; ++i)
      if (l.grid[i] > kMaxGridYZ)
        unsupported(where + (i == 1 ? "grid.y " : "grid.z ") + std::to_string(l.grid[i]) +
                    " exceeds " + str(kMaxGridYZ) +
                    " (reduce num_tokens, num_experts or "
                    "d_expert)");
    const std::int64_t threads = std::int64_t{l.block[0]} * l.block[1] * l.block[2];
    if (threads > std::min<std::int64_t>(kMaxBlockThreads, limits.max_threads_per_block))
      unsupported(where + std::to_string(threads) + " threads per block exceed " +
                  std::to_string(limits.max_threads_per_block));
    if (l.shared_bytes > static_cast<unsigned>(limits.max_shared_per_block))
      unsupported(where + std::to_string(l.shared_bytes) + " bytes of shared memory exceed the " +
                  std::to_string(limits.max_shared_per_block) + " bytes " + arch.to_string() +
                  " allows per block");
  }
}

namespace {

// Checks one buffer; `describe` (what the call needs, in words) is only evaluated on failure, so
// the check costs a few comparisons on the run() path.
template <class Describe>
void check_buffer(const void* ptr, std::size_t have, std::size_t need, std::size_t alignment,
                  const char* name, const Describe& describe) {
  if (need == 0) return;
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  if (ptr != nullptr && address % alignment == 0 && have >= need) return;
  const std::string arg = std::string("MoeArgs::") + name;
  if (ptr == nullptr)
    invalid(arg + " is null but the call needs " + std::to_string(need) + " bytes (" + describe() +
            ")");
  if (address % alignment != 0)
    invalid(arg + " must be " + std::to_string(alignment) + "-byte aligned (it is at offset " +
            std::to_string(address % alignment) + " from an aligned address)");
  invalid(arg + " holds " + std::to_string(have) + " bytes but the call needs " +
          std::to_string(need) + " (" + describe() + ")");
}

}  // namespace

void validate_args(const MoeDescriptor& d, const OperandSizes& s, std::size_t workspace_needed,
                   const void* workspace, std::size_t workspace_bytes, const MoeArgs& a) {
  const std::int64_t P = s.num_pairs;
  if (a.size_m > static_cast<std::size_t>(kMaxEntries))
    invalid("MoeArgs::size_m " + std::to_string(a.size_m) + " exceeds the int32 limit of " +
            str(kMaxEntries) + " entries");
  const std::size_t ids_bytes = a.size_m * sizeof(std::int32_t);
  const auto ids_text = [&] { return "size_m = " + std::to_string(a.size_m) + " int32 entries"; };
  check_buffer(a.sorted_ids, ids_bytes, ids_bytes, kIndexAlignment, "sorted_ids", ids_text);
  check_buffer(a.expert_ids, ids_bytes, ids_bytes, kIndexAlignment, "expert_ids", ids_text);
  const bool weighted = a.topk_weights != nullptr;
  if (!weighted && a.topk_weights_count != 0)
    invalid("MoeArgs::topk_weights is null but topk_weights_count is " +
            std::to_string(a.topk_weights_count) + " (pass both, or neither)");
  if (weighted) {
    if (a.topk_weights_count < static_cast<std::size_t>(P))
      invalid("MoeArgs::topk_weights_count " + std::to_string(a.topk_weights_count) +
              " is less than num_tokens * top_k = " + str(P) + " (one weight per pair)");
    // Saturating: a count past SIZE_MAX / 4 is at least as large as any call needs.
    const std::size_t weight_bytes = a.topk_weights_count > SIZE_MAX / sizeof(float)
                                         ? SIZE_MAX
                                         : a.topk_weights_count * sizeof(float);
    check_buffer(a.topk_weights, weight_bytes, static_cast<std::size_t>(P) * sizeof(float),
                 kIndexAlignment, "topk_weights", [] { return std::string("one f32 per pair"); });
  }
  const std::int64_t rows = weighted ? P : d.num_tokens;
  check_buffer(a.activations, a.activations_bytes,
               static_cast<std::size_t>(rows) * s.activation_row_bytes, kTensorAlignment,
               "activations", [&] {
                 return str(rows) +
                        (weighted ? " rows (one per pair, top-k weights given)"
                                  : " rows (one per token, no top-k weights)") +
                        " of d_model " + str(d.d_model) + " x " +
                        std::to_string(s.activation_elem) + " bytes";
               });
  check_buffer(a.weights, a.weights_bytes, s.weight_bytes, kTensorAlignment, "weights", [&] {
    return "num_experts " + str(d.num_experts) + " x d_expert " + str(d.d_expert) + " rows of " +
           std::to_string(s.weight_row_bytes) + " bytes";
  });
  check_buffer(a.output, a.output_bytes, s.output_bytes, kTensorAlignment, "output", [&] {
    return str(P) + " pairs x d_expert " + str(d.d_expert) + " x " + std::to_string(s.output_elem) +
           " bytes";
  });
  if (workspace_needed > 0) {
    if (workspace == nullptr)
      invalid("workspace is null but this call needs " + std::to_string(workspace_needed) +
              " bytes (MoePlan::workspace_size())");
    if (reinterpret_cast<std::uintptr_t>(workspace) % kTensorAlignment != 0)
      invalid("workspace must be " + std::to_string(kTensorAlignment) + "-byte aligned");
    if (workspace_bytes < workspace_needed)
      invalid("workspace_bytes " + std::to_string(workspace_bytes) + " is less than the " +
              std::to_string(workspace_needed) + " bytes this call needs (workspace_size())");
  }
}

}  // namespace moejit::plan_checks
