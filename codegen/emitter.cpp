// Emits the generated translation unit of a KernelSpec.
#include "codegen/emitter.hpp"

#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"
#include "templates/moe_params.cuh"

namespace moejit {
namespace {

constexpr const char* kParamsHeader = "moe_params.cuh";

// A C++ string literal holding text.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

}  // namespace

std::vector<std::string> nvrtc_options(const GpuArch& arch) {
  return {"-std=c++17", "--gpu-architecture=" + arch.to_string(), "-default-device", "-lineinfo",
          "--ptxas-options=-v"};
}

KernelSource emit_source(const KernelSpec& spec) {
  KernelSource out;
  out.key_text = kernel_key_text(spec);
  if (auto err = spec_error(spec))
    throw Error(ErrorCode::InvalidProblem, "kernel " + out.key_text + ": " + *err);
  if (auto err = tile_error(spec))
    throw Error(ErrorCode::InvalidProblem, "kernel " + out.key_text + ": " + *err);
  const KernelTemplate tmpl = kernel_template(spec);
  if (tmpl.name_expressions.empty())
    throw Error(ErrorCode::Internal, "kernel " + out.key_text + ": the template names no kernel");

  out.arch = spec.arch.to_string();
  out.name_expressions = tmpl.name_expressions;
  out.options = nvrtc_options(spec.arch);
  out.shared_bytes = shared_bytes(spec);

  std::string& c = out.code;
  c += "// moejit kernel " + out.key_text + " (codegen " + std::to_string(kCodegenVersion) + ")\n";
  c += "// NVRTC instantiates the kernels from these name expressions:\n";
  for (const std::string& name : tmpl.name_expressions) c += "//   " + name + "\n";
  c += "#include \"" + std::string(kParamsHeader) + "\"\n";
  for (const std::string& inc : tmpl.includes)
    if (inc != kParamsHeader) c += "#include \"" + inc + "\"\n";
  c += "\nstatic_assert(sizeof(moejit::MoeParams) == " + std::to_string(sizeof(MoeParams)) +
       ", \"MoeParams differs between host and device\");\n";
  c += "static_assert(alignof(moejit::MoeParams) == " + std::to_string(alignof(MoeParams)) +
       ", \"MoeParams alignment differs between host and device\");\n";
  for (const std::string& cond : tmpl.static_asserts)
    c += "static_assert(" + cond + ", " + quoted(cond) + ");\n";
  return out;
}

}  // namespace moejit
