// The CUDA template files NVRTC compiles against: the bundle embedded in the library, or the
// files of a directory (MOEJIT_TEMPLATE_DIR, for template development), with the bundle hash that
// enters every kernel's cache key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moejit {

struct TemplateFile {
  std::string path;  // relative to the template root, '/'-separated, e.g. "formats/blocks.cuh"
  std::string text;
};

// SHA-256 (hex) over "<path>\n<sha256 hex of text>\n" for each file, in the given order; the
// scheme of cmake/EmbedTemplates.cmake, so the embedded bundle and the same files read from disk
// hash alike.
std::string template_bundle_hash(const std::vector<TemplateFile>& files);

class TemplateSource {
 public:
  // The templates embedded in the library at build time (hash computed by the build).
  static TemplateSource embedded();

  // Every *.cuh file under dir (recursively), sorted by path and hashed with
  // template_bundle_hash. Throws Error(InvalidProblem) when dir is not a readable directory or
  // holds no .cuh file.
  static TemplateSource from_directory(const std::filesystem::path& dir);

  // The templates of this process: MOEJIT_TEMPLATE_DIR when it is set, else the embedded
  // bundle; read once, on first use. Throws as from_directory does.
  static const TemplateSource& current();

  const std::vector<TemplateFile>& files() const { return files_; }  // sorted by path
  const std::string& bundle_hash() const { return bundle_hash_; }
  // The directory the files were read from; nullopt for the embedded bundle.
  const std::optional<std::filesystem::path>& directory() const { return directory_; }

  // Writes every file under root, creating folders (for dumps and reproduction commands).
  // Throws Error(CacheError) naming the path when a file cannot be written.
  void write_to(const std::filesystem::path& root) const;

 private:
  std::vector<TemplateFile> files_;
  std::string bundle_hash_;
  std::optional<std::filesystem::path> directory_;
};

}  // namespace moejit
