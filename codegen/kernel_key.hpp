// Canonical kernel keys: the one human-readable text that names a KernelSpec, and the version of
// the generated code. Both enter every cache key.
#pragma once

#include <string>

#include "codegen/kernel_spec.hpp"

namespace moejit {

// Bumped whenever the generated translation unit or the NVRTC options chosen for it change, so
// that no cached binary built from older generated code is ever loaded.
inline constexpr int kCodegenVersion = 3;

// The canonical key text of a spec, for example
//   wmma_gguf:q4_k:bf16:sm_90:64x64x32:w4:s3
//   wmma:f16:sm_80:32x32x16:w4:s1
//   scalar_gguf:q8_0:f32:sm_90a:1x4x0:w4:s1:n=768:k=2048
// Parts, in order: variant, weight format (GGUF variants only), element type, architecture,
// BMxBNxBK, warps wW, stages sS, then n=N and k=K when those sizes are compiled in. Every part is
// always written (no defaults are elided), so equal specs give equal text and vice versa.
// parse_kernel_spec (codegen/spec_syntax.hpp) reads it back. Never throws.
std::string kernel_key_text(const KernelSpec& spec);

}  // namespace moejit
