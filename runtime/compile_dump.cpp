// Writes compile dumps and builds the nvcc command that reproduces a compile.
#include "runtime/compile_dump.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>

#include "moejit/error.hpp"
#include "runtime/cuda_toolkit.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw Error(ErrorCode::CacheError, "cannot write '" + path.string() + "'");
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(ErrorCode::CacheError,
                "cannot create directory '" + dir.string() + "': " + ec.message());
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// File-name form of a key: ':' becomes '.', '=' becomes '-', anything else unusual '_'.
std::string key_stem(const std::string& key_text) {
  std::string stem = key_text.substr(0, 120);
  for (char& c : stem) {
    if (c == ':')
      c = '.';
    else if (c == '=')
      c = '-';
    else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      c = '_';
  }
  return stem;
}

// Writes the bundle into root/templates-<hash prefix> unless it is there already; a concurrent
// writer loses the rename race harmlessly.
fs::path write_templates_once(const fs::path& root, const TemplateSource& templates) {
  const fs::path dir = root / ("templates-" + templates.bundle_hash().substr(0, 16));
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;
  static std::atomic<int> counter{0};
  const fs::path tmp = root / (dir.filename().string() + ".tmp-" + std::to_string(getpid()) + "-" +
                               std::to_string(counter++));
  templates.write_to(tmp);
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (!fs::is_directory(dir, ec))
      throw Error(ErrorCode::CacheError, "cannot publish templates into '" + dir.string() + "'");
  }
  return dir;
}

}  // namespace

CompileDump write_compile_dump(const fs::path& root, const KernelSource& source,
                               const KeyParts& key, const TemplateSource& templates,
                               std::string_view log, std::string_view ptx) {
  CompileDump dump;
  make_dirs(root);
  dump.templates = write_templates_once(root, templates);
  dump.dir = root / (key_stem(source.key_text) + "-" + key.digest().substr(0, 12));
  make_dirs(dump.dir);
  dump.source = dump.dir / "kernel.cu";
  write_file(dump.source, source.code);

  std::string repro =
      "// nvcc instantiates a template kernel only when host code names it; NVRTC\n"
      "// did so through name expressions.\n#include \"kernel.cu\"\n";
  for (std::size_t i = 0; i < source.name_expressions.size(); ++i) {
    const std::string& name = source.name_expressions[i];
    repro += "[[maybe_unused]] static void* const kMoejitKernel" + std::to_string(i) +
             " = reinterpret_cast<void*>(" + (name.rfind('&', 0) == 0 ? "" : "&") + name + ");\n";
  }
  write_file(dump.dir / "repro.cu", repro);

  std::string opts;
  for (const std::string& o : source.options) opts += o + "\n";
  write_file(dump.dir / "options.txt", opts);
  std::string parts;
  for (const auto& [label, value] : key.describe()) parts += label + ": " + value + "\n";
  write_file(dump.dir / "key.txt", parts);
  write_file(dump.dir / "nvrtc.log", log);
  if (!ptx.empty()) write_file(dump.dir / "kernel.ptx", ptx);

  const auto& toolkit = process_cuda_toolkit();
  std::string cmd =
      toolkit ? shell_quote((toolkit->include_dir.parent_path() / "bin" / "nvcc").string())
              : std::string("nvcc");
  cmd += " -cubin";
  for (const std::string& o : source.options) {
    cmd += ' ';
    // nvcc has no -default-device; relaxed constexpr covers the unannotated constexpr helpers.
    cmd += o == "-default-device" ? std::string("--expt-relaxed-constexpr") : shell_quote(o);
  }
  cmd += " -I" + shell_quote(dump.templates.string());
  if (toolkit) cmd += " -I" + shell_quote(toolkit->include_dir.string());
  cmd += " -o " + shell_quote((dump.dir / "kernel.cubin").string()) + " " +
         shell_quote((dump.dir / "repro.cu").string());
  dump.repro_command = cmd;
  write_file(dump.dir / "repro.sh", "#!/bin/sh\n# Recompiles kernel.cu with nvcc.\n" + cmd + "\n");
  return dump;
}

fs::path make_temp_dump_root() {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "moejit-compile-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw Error(ErrorCode::CacheError,
                "cannot create a temporary directory under '" + base.string() + "'");
  return fs::path(pattern);
}

}  // namespace moejit
