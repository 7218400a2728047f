// Dumps of compiled kernels for inspection and bug reports: the generated source, a variant of
// it that nvcc compiles, the options, key parts, NVRTC log, PTX, and the templates compiled
// against, with an nvcc command line that reproduces the compile.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "codegen/emitter.hpp"
#include "runtime/key_parts.hpp"
#include "runtime/template_source.hpp"

namespace moejit {

struct CompileDump {
  std::filesystem::path dir;        // <root>/<key with ':' as '.'>-<digest prefix>
  std::filesystem::path source;     // dir/kernel.cu, the translation unit exactly as compiled
  std::filesystem::path templates;  // <root>/templates-<bundle hash prefix>, shared by kernels
  std::string repro_command;        // an nvcc -cubin command that compiles dir/repro.cu
};

// Writes under root (created if missing): dir/kernel.cu, dir/repro.cu (kernel.cu plus one line per
// name expression that makes nvcc instantiate the kernel), dir/options.txt, dir/key.txt (the key
// parts), dir/nvrtc.log, dir/kernel.ptx when ptx is not empty, and the template files once per
// bundle. Throws Error(CacheError) naming the path when something cannot be written.
CompileDump write_compile_dump(const std::filesystem::path& root, const KernelSource& source,
                               const KeyParts& key, const TemplateSource& templates,
                               std::string_view log, std::string_view ptx);

// A new, empty directory under the system temp directory for one failed compile.
// Throws Error(CacheError) when none can be made.
std::filesystem::path make_temp_dump_root();

}  // namespace moejit
