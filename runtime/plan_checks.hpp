// Validation of the plan API: descriptors (what MoePlan::select rejects and why), the kernel spec
// and launch geometry chosen for them, and the arguments of MoePlan::run. No CUDA here.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "codegen/kernel_spec.hpp"
#include "codegen/kernel_template.hpp"
#include "moejit/moe_plan.hpp"

namespace moejit::plan_checks {

// Limits of the plan API. Pair ids, entry counts and sizes are int32 in the kernels.
inline constexpr std::int64_t kMaxExperts = INT_MAX - 1;  // expert_offsets[E + 1] is int32
inline constexpr std::int64_t kMaxPairs = INT_MAX;        // num_tokens * top_k
inline constexpr std::int64_t kMaxWidth = INT_MAX;        // d_model, d_expert
inline constexpr std::int64_t kMaxEntries = INT_MAX;
// Alignment run() requires of the activation, weight, output and workspace pointers (16-byte
// vector loads and stores), and of the id and top-k weight arrays.
inline constexpr std::size_t kTensorAlignment = 16;
inline constexpr std::size_t kIndexAlignment = 4;
// CUDA launch limits.
inline constexpr std::int64_t kMaxGridX = INT_MAX;
inline constexpr std::int64_t kMaxGridYZ = 65535;
inline constexpr std::int64_t kMaxBlockThreads = 1024;

// Sizes derived from a valid descriptor.
struct OperandSizes {
  std::int64_t num_pairs = 0;        // P
  std::size_t activation_elem = 0;   // bytes per activation value
  std::size_t output_elem = 0;       // bytes per output value
  std::size_t weight_row_bytes = 0;  // bytes of one expert's row n (K values or K/qk blocks)
  std::size_t weight_bytes = 0;      // E * N * weight_row_bytes
  std::size_t output_bytes = 0;      // P * N * output_elem
  std::size_t activation_row_bytes = 0;
};

// Checks every field of a descriptor that does not depend on the target architecture, in the
// order of baracuda's select plus what it misses, and returns the derived sizes.
// Throws Error(InvalidProblem) or Error(Unsupported) with a message naming the field and limit.
OperandSizes validate_descriptor(const MoeDescriptor& descriptor);

// Checks what depends on the target: a supported architecture, bf16 on sm_80+.
// Throws Error(Unsupported).
void validate_arch(const MoeDescriptor& descriptor, const GpuArch& arch);

// The problem sizes of one call: size_m entries, with or without top-k weights.
ProblemDims problem_dims(const MoeDescriptor& descriptor, std::int64_t size_m, bool weighted);

// The spec for a descriptor on an architecture: the requested tile, else the default one from
// the user's tile table (`tile_table`, else MOEJIT_TILE_TABLE; runtime/tile_table_file.hpp),
// the shipped table or the heuristics. Throws Error(InvalidProblem) for a user table that cannot
// be read or whose stamp does not match (runtime/tile_table_file.hpp).
KernelSpec make_spec(const MoeDescriptor& descriptor, const GpuArch& arch, bool specialize_sizes,
                     const std::optional<std::string>& tile_table = std::nullopt);

// Checks the spec's combination and tile rules. Throws Error(InvalidProblem) for a requested
// tile that breaks a rule, Error(Unsupported) when the default tile cannot serve the problem.
void validate_spec(const KernelSpec& spec, bool tile_requested);

// Checks the launches of one call against CUDA's grid, block and shared-memory limits of the
// architecture. Throws Error(Unsupported) naming the launch, the dimension and the limit.
void validate_launches(std::span<const KernelStep> steps, const GpuArch& arch,
                       std::string_view kernel_key);

// Checks the arguments of run() against the descriptor: every required pointer present and
// aligned, every buffer at least as large as the call needs, the workspace large enough.
// Throws Error(InvalidProblem) naming the argument.
void validate_args(const MoeDescriptor& descriptor, const OperandSizes& sizes,
                   std::size_t workspace_needed, const void* workspace, std::size_t workspace_bytes,
                   const MoeArgs& args);

}  // namespace moejit::plan_checks
