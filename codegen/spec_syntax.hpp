// Kernel spec text: the syntax of canonical kernel keys (codegen/kernel_key.hpp) read back into a
// KernelSpec. The CLI accepts the same syntax, with every part after the format or element
// optional, for example "wmma_gguf:q4_k", "wmma:bf16:sm_90a" or "scalar_gguf:q6_k:sm_86:w8".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "codegen/kernel_spec.hpp"
#include "codegen/kernel_template.hpp"

namespace moejit {

// The parts of a spec text as written; a part the text leaves out is nullopt.
struct SpecText {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;
  std::optional<ElementKind> element;
  std::optional<GpuArch> arch;
  std::optional<Tile> tile;  // bm, bn, bk as written (warps and stages stay at Tile's defaults)
  std::optional<int> warps;
  std::optional<int> stages;
  bool reg_weights = false;  // an "rw" part
  std::optional<int> const_n;
  std::optional<int> const_k;
};

// What parse_kernel_spec fills in for parts the text leaves out.
struct SpecDefaults {
  GpuArch arch{};  // sm_80
  // The problem the default tile is chosen for (qwen3-30b-a3b, 128 tokens). n= and k= parts
  // replace size_n and size_k.
  ProblemDims dims{1024, 768, 2048, 128, 1024, 128};
  bool is_prefill = true;
};

// Splits spec text into its parts. The first part is the variant; the others may come in any
// order, each at most once, and are told apart by their form: a weight format (q4_0 ... q6_k), an
// element type (f32, f16, bf16), an architecture (sm_80 ... sm_90a), a tile BMxBNxBK, warps wN,
// stages sN, n=N, k=K. Also checks that the format and element suit the variant.
// Throws Error(InvalidProblem) whose message quotes the text, marks the offending part with carets
// and lists what is allowed there.
SpecText parse_spec_text(std::string_view text);

// parse_spec_text, then fills the missing parts: element f32 for scalar_gguf and f16 otherwise,
// kernel_target(variant, defaults.arch), and the pieces of default_tile(...) for a missing tile,
// warps or stages. The result is checked with spec_error and tile_error. Throws
// Error(InvalidProblem) as above.
KernelSpec parse_kernel_spec(std::string_view text, const SpecDefaults& defaults = {});

// Why a spec is not a valid combination (variant, format, element, architecture, tile numbers,
// compiled-in sizes), or nullopt. The variant's own tile rules are tile_error's job.
std::optional<std::string> spec_error(const KernelSpec& spec);

}  // namespace moejit
