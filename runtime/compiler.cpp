// Compiles generated kernel sources with NVRTC into Artifacts.
#include "runtime/compiler.hpp"

#include <nvrtc.h>

#include <chrono>

#include "cache/knobs.hpp"
#include "runtime/compile_dump.hpp"
#include "runtime/cuda_toolkit.hpp"
#include "runtime/nvrtc_check.hpp"
#include "runtime/ptxas_log.hpp"

namespace moejit {
namespace {

class Program {
 public:
  Program(const KernelSource& source, const TemplateSource& templates) {
    for (const TemplateFile& f : templates.files()) {
      names_.push_back(f.path.c_str());
      texts_.push_back(f.text.c_str());
    }
    nvrtc_check(nvrtcCreateProgram(&prog_, source.code.c_str(), kKernelSourceName,
                                   static_cast<int>(texts_.size()), texts_.data(), names_.data()),
                "nvrtcCreateProgram", source.key_text);
  }
  ~Program() { nvrtcDestroyProgram(&prog_); }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  nvrtcProgram get() const { return prog_; }

 private:
  nvrtcProgram prog_ = nullptr;
  std::vector<const char*> names_, texts_;
};

std::string program_log(nvrtcProgram prog, const std::string& key) {
  std::size_t size = 0;
  nvrtc_check(nvrtcGetProgramLogSize(prog, &size), "nvrtcGetProgramLogSize", key);
  std::string log(size, '\0');
  nvrtc_check(nvrtcGetProgramLog(prog, log.data()), "nvrtcGetProgramLog", key);
  while (!log.empty() && log.back() == '\0') log.pop_back();
  return log;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : " ") + s;
  return out;
}

[[noreturn]] void throw_compile_error(const KernelSource& source, const KeyParts& key,
                                      const TemplateSource& templates,
                                      const std::vector<std::string>& options, nvrtcResult result,
                                      const std::string& log,
                                      const std::optional<std::filesystem::path>& dump_root) {
  std::string where;
  try {
    const CompileDump dump = write_compile_dump(dump_root ? *dump_root : make_temp_dump_root(),
                                                source, key, templates, log, "");
    where = "source: " + dump.source.string() + "\nreproduce: " + dump.repro_command + "\n";
  } catch (const Error& e) {
    where = "source: not dumped (" + std::string(e.what()) + ")\n";
  }
  throw Error(ErrorCode::CompileError, "kernel " + source.key_text + " failed to compile for " +
                                           source.arch + " (" + nvrtcGetErrorString(result) +
                                           ")\noptions: " + join(options) + "\n" + where +
                                           "NVRTC log:\n" + log);
}

}  // namespace

KeyParts kernel_key_parts(const KernelSpec& spec, const CompileOptions& options) {
  const TemplateSource& templates =
      options.templates ? *options.templates : TemplateSource::current();
  return make_key_parts(emit_source(spec), templates);
}

Artifact compile_source(const KernelSource& source, const CompileOptions& options) {
  const TemplateSource& templates =
      options.templates ? *options.templates : TemplateSource::current();
  const std::optional<std::filesystem::path>& dump_root =
      options.dump_dir ? options.dump_dir : Knobs::get().dump_dir;
  const KeyParts key = make_key_parts(source, templates);
  const CudaToolkit& toolkit = cuda_toolkit();

  // Options that do not change the code come after the canonical ones and stay out of the key:
  // the toolkit headers; no include search next to the (in-memory) source; and --no-cache, for
  // with a driver present NVRTC would otherwise reuse ptxas results from ~/.nv/ComputeCache, a
  // second, hidden cache that also drops the ptxas -v lines resource usage is read from.
  std::vector<std::string> all_options = source.options;
  all_options.push_back("-I" + toolkit.include_dir.string());
  all_options.push_back("--no-source-include");
  all_options.push_back("--no-cache");
  std::vector<const char*> option_ptrs;
  for (const std::string& o : all_options) option_ptrs.push_back(o.c_str());

  const auto start = std::chrono::steady_clock::now();
  Program program(source, templates);
  for (const std::string& name : source.name_expressions)
    nvrtc_check(nvrtcAddNameExpression(program.get(), name.c_str()), "nvrtcAddNameExpression",
                source.key_text);
  const nvrtcResult result =
      nvrtcCompileProgram(program.get(), static_cast<int>(option_ptrs.size()), option_ptrs.data());
  const std::string log = program_log(program.get(), source.key_text);
  if (result != NVRTC_SUCCESS)
    throw_compile_error(source, key, templates, all_options, result, log, dump_root);

  Artifact art;
  art.key_text = source.key_text;
  art.digest = key.digest();
  art.arch = source.arch;
  art.source = source.code;
  art.options = source.options;
  art.log = log;

  std::size_t size = 0;
  nvrtc_check(nvrtcGetCUBINSize(program.get(), &size), "nvrtcGetCUBINSize", source.key_text);
  art.cubin.resize(size);
  nvrtc_check(nvrtcGetCUBIN(program.get(), reinterpret_cast<char*>(art.cubin.data())),
              "nvrtcGetCUBIN", source.key_text);
  nvrtc_check(nvrtcGetPTXSize(program.get(), &size), "nvrtcGetPTXSize", source.key_text);
  art.ptx.resize(size);
  nvrtc_check(nvrtcGetPTX(program.get(), art.ptx.data()), "nvrtcGetPTX", source.key_text);
  while (!art.ptx.empty() && art.ptx.back() == '\0') art.ptx.pop_back();

  const auto resources = parse_ptxas_resources(log);
  for (std::size_t i = 0; i < source.name_expressions.size(); ++i) {
    const char* lowered = nullptr;
    nvrtc_check(nvrtcGetLoweredName(program.get(), source.name_expressions[i].c_str(), &lowered),
                "nvrtcGetLoweredName", source.key_text);
    KernelEntry entry{source.name_expressions[i], lowered, {}};
    if (auto it = resources.find(entry.lowered_name); it != resources.end())
      entry.resources = it->second;
    else
      log_message(LogLevel::Warn, "kernel " + source.key_text + ": ptxas reported no resource " +
                                      "usage for " + entry.lowered_name);
    if (i == 0) entry.resources.shared_dynamic_bytes = static_cast<int>(source.shared_bytes);
    art.kernels.push_back(std::move(entry));
  }
  art.compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  if (dump_root) {
    try {
      const CompileDump dump = write_compile_dump(*dump_root, source, key, templates, log, art.ptx);
      log_message(LogLevel::Info, "kernel " + source.key_text + " dumped to " + dump.dir.string());
    } catch (const Error& e) {
      log_message(LogLevel::Warn, std::string("compile dump skipped: ") + e.what());
    }
  }
  log_message(LogLevel::Info, "compiled " + source.key_text + " in " +
                                  std::to_string(static_cast<int>(art.compile_ms)) + " ms");
  return art;
}

Artifact compile_kernel(const KernelSpec& spec, const CompileOptions& options) {
  return compile_source(emit_source(spec), options);
}

std::variant<Artifact, Error> try_compile_kernel(const KernelSpec& spec,
                                                 const CompileOptions& options) {
  try {
    return compile_kernel(spec, options);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::InvalidProblem || e.code() == ErrorCode::CompileError) return e;
    throw;
  }
}

}  // namespace moejit
