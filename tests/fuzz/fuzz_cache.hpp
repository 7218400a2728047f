// Pieces the cache fuzz targets share: a scratch folder per process and artifacts built from
// fuzz input.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cache/artifact.hpp"
#include "cache/fs_util.hpp"
#include "cache/sha256.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace moejit::fuzz {

// This process's scratch folder under the system temp folder, removed when the process exits.
inline const std::filesystem::path& scratch_root() {
  class Root {
   public:
    Root()
        : path_(std::filesystem::temp_directory_path() /
                ("moejit-fuzz-" + std::to_string(::getpid()))) {
      std::filesystem::create_directories(path_);
    }
    ~Root() {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

   private:
    std::filesystem::path path_;
  };
  static const Root root;
  return root.path();
}

// The content of the regular file `p` (not through a symbolic link), else "".
inline std::string file_text(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(p, ec))) return "";
  return cachefs::read_small_file(p).value_or("");
}

// Replaces whatever stands at `p` (a file, a folder or a link) with a file holding `text`.
// False when it cannot be written (for example because its folder is gone).
inline bool put_file(const std::filesystem::path& p, const std::string& text) {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
  cachefs::UniqueFd dir = cachefs::open_dir(p.parent_path());
  return dir.valid() &&
         cachefs::write_new_file(dir.get(), p.filename().string(), text, false).empty();
}

// An artifact whose every field comes from the input; its digest is the SHA-256 of its key
// text followed by `salt`, so that artifacts of one input can be told apart.
inline Artifact artifact_from(FuzzInput& in, const std::string& salt = "") {
  Artifact a;
  a.key_text = in.text(64);
  a.digest = sha256_hex(a.key_text + salt);
  a.arch = in.text(8);
  a.source = in.text(256);
  for (std::size_t i = 0, n = in.byte() % 3; i < n; ++i) a.options.push_back(in.text(16));
  a.log = in.text(64);
  a.ptx = in.text(128);
  const std::string cubin = in.text(256);
  a.cubin.assign(cubin.begin(), cubin.end());
  for (std::size_t i = 0, n = in.byte() % 3; i < n; ++i) {
    KernelEntry k{in.text(24), in.text(24), {}};
    k.resources.registers = in.raw<int>();
    k.resources.spill_load_bytes = in.raw<int>();
    a.kernels.push_back(std::move(k));
  }
  a.compile_ms = in.raw<double>();
  return a;
}

// Whether what was read back is what was written (compile_ms aside: a non-finite one is
// written as 0). Payloads are compared only when they were read.
inline bool same_artifact(const Artifact& got, const Artifact& written, bool payloads) {
  if (got.key_text != written.key_text || got.digest != written.digest ||
      got.arch != written.arch || got.options != written.options ||
      got.kernels.size() != written.kernels.size())
    return false;
  for (std::size_t i = 0; i < got.kernels.size(); ++i) {
    const KernelEntry& a = got.kernels[i];
    const KernelEntry& b = written.kernels[i];
    if (a.name_expression != b.name_expression || a.lowered_name != b.lowered_name ||
        a.resources.registers != b.resources.registers ||
        a.resources.spill_load_bytes != b.resources.spill_load_bytes)
      return false;
  }
  return !payloads || (got.source == written.source && got.log == written.log &&
                       got.ptx == written.ptx && got.cubin == written.cubin);
}

}  // namespace moejit::fuzz
