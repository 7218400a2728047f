// The source emitter: turns a KernelSpec into the short translation unit NVRTC compiles (banner,
// includes, static_asserts; the kernels are instantiated through NVRTC name expressions) and the
// canonical NVRTC options for it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "codegen/kernel_spec.hpp"

namespace moejit {

struct KernelSource {
  std::string key_text;                       // kernel_key_text(spec)
  std::string arch;                           // the target, e.g. "sm_90a"
  std::string code;                           // the translation unit, exactly as compiled
  std::vector<std::string> name_expressions;  // every __global__ of the module, main kernel first
  std::vector<std::string> options;           // canonical NVRTC options (no include paths)
  std::size_t shared_bytes = 0;               // dynamic shared memory of the main kernel
};

// Name NVRTC gives the translation unit (it appears in diagnostics).
inline constexpr const char* kKernelSourceName = "moejit_kernel.cu";

// The canonical NVRTC options for a target, in a fixed order:
//   -std=c++17  --gpu-architecture=sm_XX[a]  -default-device  -lineinfo  --ptxas-options=-v
// One compile for a real architecture gives both the cubin and the PTX. -lineinfo keeps source
// lines for compute-sanitizer and Nsight Compute and does not change the generated SASS.
// --ptxas-options=-v puts the per-kernel resource usage into the log, where the compiler reads it.
// -default-device makes unannotated functions (constexpr helpers) device functions; nvcc has no
// such option, so the reproduction command gives nvcc --expt-relaxed-constexpr instead.
// Include paths are not part of this list: they depend on the machine, not on the code.
std::vector<std::string> nvrtc_options(const GpuArch& arch);

// The generated translation unit and everything NVRTC needs to compile it. Deterministic: equal
// specs give byte-identical results. Throws Error(InvalidProblem) naming the key when the spec is
// not a valid combination (spec_error) or its tile breaks a rule (tile_error).
KernelSource emit_source(const KernelSpec& spec);

}  // namespace moejit
