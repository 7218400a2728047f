// Template files for NVRTC: the embedded bundle or a directory on disk, and their bundle hash.
#include "runtime/template_source.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cache/knobs.hpp"
#include "cache/sha256.hpp"
#include "moejit/error.hpp"
#include "templates/bundle.hpp"

namespace moejit {

std::string template_bundle_hash(const std::vector<TemplateFile>& files) {
  std::string manifest;
  for (const TemplateFile& f : files) manifest += f.path + "\n" + sha256_hex(f.text) + "\n";
  return sha256_hex(manifest);
}

TemplateSource TemplateSource::embedded() {
  TemplateSource s;
  for (const templates::EmbeddedTemplate& t : templates::embedded_templates())
    s.files_.push_back({std::string(t.path), std::string(t.text)});
  s.bundle_hash_ = std::string(templates::embedded_bundle_hash());
  return s;
}

TemplateSource TemplateSource::from_directory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::InvalidProblem,
                "template directory '" + dir.string() +
                    "' does not exist or is not a directory (check MOEJIT_TEMPLATE_DIR)");
  TemplateSource s;
  s.directory_ = dir;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".cuh") continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in)
      throw Error(ErrorCode::InvalidProblem,
                  "cannot read template file '" + it->path().string() + "'");
    s.files_.push_back({it->path().lexically_relative(dir).generic_string(), text.str()});
  }
  if (ec)
    throw Error(ErrorCode::InvalidProblem,
                "cannot list template directory '" + dir.string() + "': " + ec.message());
  if (s.files_.empty())
    throw Error(ErrorCode::InvalidProblem,
                "template directory '" + dir.string() +
                    "' holds no .cuh file (point MOEJIT_TEMPLATE_DIR at a copy of templates/)");
  std::sort(s.files_.begin(), s.files_.end(),
            [](const TemplateFile& a, const TemplateFile& b) { return a.path < b.path; });
  s.bundle_hash_ = template_bundle_hash(s.files_);
  return s;
}

const TemplateSource& TemplateSource::current() {
  static const TemplateSource source = [] {
    const auto& dir = Knobs::get().template_dir;
    if (!dir) return embedded();
    TemplateSource s = from_directory(*dir);
    log_message(LogLevel::Info, "templates read from " + dir->string() + " (bundle " +
                                    s.bundle_hash().substr(0, 16) + ")");
    return s;
  }();
  return source;
}

void TemplateSource::write_to(const std::filesystem::path& root) const {
  namespace fs = std::filesystem;
  for (const TemplateFile& f : files_) {
    const fs::path path = root / fs::path(f.path);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(f.text.data(), static_cast<std::streamsize>(f.text.size()));
    out.close();
    if (ec || !out)
      throw Error(ErrorCode::CacheError, "cannot write template file '" + path.string() + "'");
  }
}

}  // namespace moejit
