// The NVRTC compiler: KernelSpec -> generated source -> Artifact (cubin, PTX, lowered names,
// resource usage, log). Needs the CUDA toolkit headers and libnvrtc, but no GPU and no driver.
//
// One NVRTC compile for the real architecture (sm_XX or sm_XXa) yields both the cubin and its PTX,
// so the PTX is always kept in the artifact at no extra compile cost. Artifact::options holds the
// canonical options (those in the key); the ones passed after them, which do not change the code
// (-I<toolkit include>, --no-source-include, --no-cache), are not recorded. Templates reach NVRTC
// as in-memory headers named by their path under templates/, so they include each other by that
// path. Precompiled headers (-pch) were measured and left off: the C++ front end is about a fifth
// of a compile here (NVVM optimisation and ptxas dominate), and automatic PCH saved under 5%.
#pragma once

#include <filesystem>
#include <optional>
#include <variant>

#include "cache/artifact.hpp"
#include "codegen/emitter.hpp"
#include "codegen/kernel_spec.hpp"
#include "moejit/error.hpp"
#include "runtime/key_parts.hpp"
#include "runtime/template_source.hpp"

namespace moejit {

struct CompileOptions {
  // The templates to compile against; null means TemplateSource::current() (the embedded bundle,
  // or MOEJIT_TEMPLATE_DIR). Tests pass a directory's TemplateSource here.
  const TemplateSource* templates = nullptr;
  // Where to dump source, PTX, log and a reproduction command for every compile; nullopt means
  // MOEJIT_DUMP_DIR. With neither set only failed compiles are dumped, to a new directory under
  // the system temp directory.
  std::optional<std::filesystem::path> dump_dir;
};

// The cache key parts of a spec as this process would compile it (no compile happens).
// Throws Error(InvalidProblem) for an invalid spec.
KeyParts kernel_key_parts(const KernelSpec& spec, const CompileOptions& options = {});

// Compiles generated source for source.arch. Throws Error(CompileError) when NVRTC rejects it:
// the message carries the key, the NVRTC log, the options, the path of the dumped source and an
// nvcc command that reproduces the failure. Throws Error(Unsupported) when the CUDA toolkit
// headers cannot be found.
Artifact compile_source(const KernelSource& source, const CompileOptions& options = {});

// emit_source(spec), then compile_source. Throws as both do.
Artifact compile_kernel(const KernelSpec& spec, const CompileOptions& options = {});

// compile_kernel, with a spec that is invalid (InvalidProblem) or that NVRTC rejects
// (CompileError) returned as the Error instead of thrown, for callers that score candidates
// (the autotuner). Other errors are thrown.
std::variant<Artifact, Error> try_compile_kernel(const KernelSpec& spec,
                                                 const CompileOptions& options = {});

}  // namespace moejit
