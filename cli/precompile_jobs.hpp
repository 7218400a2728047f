// The kernels `moejit precompile` compiles: a matrix from flags, the entries of a JSON manifest,
// or a preset of model shapes turned into specs exactly as MoePlan::select turns descriptors
// into specs. Every source yields specs in the one spec syntax; duplicates are merged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/kernel_spec.hpp"
#include "moejit/types.hpp"

namespace moejit::cli {

// One kernel to precompile. `error` is set when the spec is well-formed text but not a valid
// kernel (a tile that breaks a rule); such a job fails without compiling.
struct PrecompileJob {
  KernelSpec spec;
  std::string key_text;  // canonical key text, or the spec text as written when `error` is set
  std::string origin;    // where it came from: "flags", "manifest entry 3", "preset ..."
  std::optional<std::string> error;
};

// A command line value that is not allowed; the message says what is allowed. The command turns
// it into a usage error (status 2).
class BadValue : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses --arch: a comma-separated list of sm_80 sm_86 sm_87 sm_89 sm_90 sm_90a, or "all"
// (sm_80 sm_86 sm_87 sm_89 sm_90). Throws BadValue.
std::vector<GpuArch> parse_arch_list(const std::string& text);

// What --variant, --format and --dtype select ("all" or comma-separated lists). Throw BadValue.
std::vector<MoeVariant> parse_variant_list(const std::string& text);
std::vector<GgufBlockFormat> parse_format_list(const std::string& text);
std::vector<ElementKind> parse_element_list(const std::string& text);

// The variants, formats and element types a matrix or preset covers. A format applies to the
// GGUF variants only; an element type to the variants that take it (scalar_gguf: f32; wmma and
// wmma_gguf: f16, bf16); combinations outside that are left out.
struct KernelFamilies {
  std::vector<MoeVariant> variants;
  std::vector<GgufBlockFormat> formats;
  std::vector<ElementKind> elements;
};

// The flag matrix: every architecture x variant x format x element x tile. `tiles` are spec parts
// such as "64x64x32" or "64x64x32:w4:s3" ("default": the spec syntax's default tile). Throws
// BadValue when a tile is not spec syntax; a tile that breaks a variant's rules makes that job
// fail (PrecompileJob::error).
std::vector<PrecompileJob> matrix_jobs(const KernelFamilies& families,
                                       const std::vector<std::string>& tiles,
                                       const std::vector<GpuArch>& archs);

// The entries of a JSON manifest (format in manifest_help()); entries without an architecture
// are compiled for each of `archs()` (called only when such an entry exists; it may throw).
// Throws Error(InvalidProblem) naming the file and the entry for a file that cannot be read or
// parsed or an entry that is not spec syntax.
std::vector<PrecompileJob> manifest_jobs(const std::filesystem::path& file,
                                         const std::function<std::vector<GpuArch>()>& archs);
std::string manifest_help();

// An MoE layer's shape: experts, experts per token, the expert FFN width and the model width.
struct ModelShape {
  std::string name;
  std::int64_t experts = 0;
  std::int64_t top_k = 0;
  std::int64_t d_ff = 0;     // N of gate and up, K of down
  std::int64_t d_model = 0;  // K of gate and up, N of down
};

// The models of --preset NAME ("default" is all of them), and --shape E,TOPK,N,K. Throw BadValue.
std::vector<ModelShape> preset_models(const std::string& names);
ModelShape parse_model_shape(const std::string& text);
std::string preset_help();

// The specs MoePlan::select picks (default tile, no pinned tile, sizes not compiled in) for each
// model's gate, up, fused gate_up and down projections at the preset's decode and prefill token
// counts, for every family and architecture. Problems select would reject are left out and
// counted in rejected->count; rejected->first is the first one's origin and select's reason.
struct PresetRejections {
  std::size_t count = 0;
  std::string first;
};
std::vector<PrecompileJob> preset_jobs(const std::vector<ModelShape>& models,
                                       const KernelFamilies& families,
                                       const std::vector<GpuArch>& archs,
                                       PresetRejections* rejected);

// Removes later jobs with the key text of an earlier one; returns how many were removed.
std::size_t merge_duplicates(std::vector<PrecompileJob>& jobs);

}  // namespace moejit::cli
