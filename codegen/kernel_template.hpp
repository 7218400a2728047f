// How a KernelSpec maps onto the CUDA templates: the headers and name expressions of the
// generated translation unit, the launch geometry of each kernel, the workspace layout, the
// tile rules, and the default tile heuristics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/kernel_spec.hpp"

namespace moejit {

// The sizes of one call, as the launcher knows them on the host.
struct ProblemDims {
  std::int64_t size_m = 0;       // routed entries (length of sorted_ids)
  std::int64_t size_n = 0;       // N
  std::int64_t size_k = 0;       // K
  std::int64_t num_experts = 0;  // E
  std::int64_t num_pairs = 0;    // P = tokens * top_k
  std::int64_t input_rows = 0;   // rows of activations (P with top-k weights, else tokens)
};

struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned shared_bytes = 0;  // dynamic shared memory
};

// One launch of a call, in order; name_expression is one of KernelTemplate::name_expressions.
struct KernelStep {
  std::string name_expression;
  LaunchDims dims;
  // Launched with programmatic stream serialization (sm_90+): the kernel may start while the
  // previous step runs, and waits for it in-kernel (templates/grid_dependency.cuh).
  bool programmatic = false;
  // The kernel waits before its first global read, so it may also be launched programmatically
  // after a kernel that is not one of the call's own (the first step of a call, the helper).
  bool waits_first = false;
};

struct KernelTemplate {
  std::vector<std::string> includes;          // paths relative to templates/, in include order
  std::vector<std::string> name_expressions;  // every __global__ of the module, main kernel first
  std::vector<std::string> static_asserts;    // conditions the generated TU static_asserts
};

}  // namespace moejit

namespace moejit {

// Byte offsets of the scratch areas inside the caller's workspace (each 256-byte aligned).
struct WorkspaceLayout {
  std::size_t offsets_offset = 0;  // int32 expert_offsets[E + 1] (tensor-core variants)
  std::size_t offsets_bytes = 0;
  std::size_t q8_offset = 0;  // q8_1 activation blocks [input_rows, K / 32] (ScalarGguf)
  std::size_t q8_bytes = 0;
  std::size_t total = 0;
};

// The template instantiation a spec generates. Throws Error(InvalidProblem) for an invalid spec.
KernelTemplate kernel_template(const KernelSpec& spec);

// The launches of one call, in order (helper kernels first, the main kernel last).
std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims);

WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims);

// Dynamic shared memory of the main kernel, in bytes.
std::size_t shared_bytes(const KernelSpec& spec);

// Why a spec's tile cannot work (naming the limit it breaks), or nullopt when it is valid.
std::optional<std::string> tile_error(const KernelSpec& spec);

// The deterministic default tile for a problem on an architecture: the shipped tile table's
// (codegen/tile_table.hpp) when it has one for the problem, else the built-in heuristics.
Tile default_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                  GpuArch arch, const ProblemDims& dims, bool is_prefill);

}  // namespace moejit
