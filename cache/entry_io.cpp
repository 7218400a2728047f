// Entry directories: payload files plus manifest.json, whose body carries its own SHA-256.
//
// manifest.json is exactly  {"body_sha256":"<64 hex>","body":<BODY>}\n  where BODY is the JSON
// object below and the checksum covers BODY's exact bytes, so any changed byte is detected.
#include "cache/entry_io.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cache/sha256.hpp"

namespace moejit {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kPrefix = "{\"body_sha256\":\"";
constexpr std::string_view kMiddle = "\",\"body\":";
constexpr std::string_view kSuffix = "}\n";
constexpr std::size_t kHexLen = 64;

const char* const kPayloadFiles[] = {kKeyFile, kSourceFile, kLogFile, kPtxFile, kCubinFile};

std::string_view as_text(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

std::string_view payload_of(const Artifact& a, std::string_view name) {
  if (name == kKeyFile) return a.key_text;
  if (name == kSourceFile) return a.source;
  if (name == kLogFile) return a.log;
  if (name == kPtxFile) return a.ptx;
  return as_text(a.cubin);
}

ordered_json resources_json(const KernelResources& r) {
  return ordered_json{{"registers", r.registers},
                      {"shared_static_bytes", r.shared_static_bytes},
                      {"shared_dynamic_bytes", r.shared_dynamic_bytes},
                      {"local_bytes", r.local_bytes},
                      {"spill_store_bytes", r.spill_store_bytes},
                      {"spill_load_bytes", r.spill_load_bytes}};
}

KernelResources resources_from(const json& j) {
  KernelResources r;
  r.registers = j.at("registers").get<int>();
  r.shared_static_bytes = j.at("shared_static_bytes").get<int>();
  r.shared_dynamic_bytes = j.at("shared_dynamic_bytes").get<int>();
  r.local_bytes = j.at("local_bytes").get<int>();
  r.spill_store_bytes = j.at("spill_store_bytes").get<int>();
  r.spill_load_bytes = j.at("spill_load_bytes").get<int>();
  return r;
}

std::string manifest_body(const Artifact& a, const std::vector<EntryFile>& files) {
  ordered_json body;
  body["format_version"] = kEntryFormatVersion;
  body["digest"] = a.digest;
  body["key_text"] = a.key_text;
  body["arch"] = a.arch;
  body["options"] = a.options;
  ordered_json kernels = ordered_json::array();
  for (const auto& k : a.kernels)
    kernels.push_back(ordered_json{{"name_expression", k.name_expression},
                                   {"lowered_name", k.lowered_name},
                                   {"resources", resources_json(k.resources)}});
  body["kernels"] = std::move(kernels);
  body["compile_ms"] = std::isfinite(a.compile_ms) ? a.compile_ms : 0.0;
  ordered_json list = ordered_json::array();
  for (const auto& f : files)
    list.push_back(ordered_json{{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  body["files"] = std::move(list);
  return body.dump(2, ' ', /*ensure_ascii=*/true);
}

// Splits the manifest text into its verified body, or says what is wrong.
std::optional<std::string_view> verified_body(std::string_view text, std::string& problem) {
  const std::size_t fixed = kPrefix.size() + kHexLen + kMiddle.size() + kSuffix.size();
  if (text.size() <= fixed || !text.starts_with(kPrefix) || !text.ends_with(kSuffix) ||
      text.substr(kPrefix.size() + kHexLen, kMiddle.size()) != kMiddle) {
    problem = "manifest.json is not in the expected form (truncated or edited)";
    return std::nullopt;
  }
  std::string_view hex = text.substr(kPrefix.size(), kHexLen);
  std::string_view body = text.substr(kPrefix.size() + kHexLen + kMiddle.size());
  body.remove_suffix(kSuffix.size());
  if (sha256_hex(body) != hex) {
    problem = "manifest.json body checksum mismatch";
    return std::nullopt;
  }
  return body;
}

// Fills `r.artifact` and `r.files` from the verified manifest body; false with r.problem set
// when a field is missing, has the wrong type, or disagrees with the entry's place.
bool parse_body(std::string_view body_text, std::string_view digest, EntryRead& r) {
  json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    r.problem = "manifest.json body is not a JSON object";
    return false;
  }
  try {
    int version = body.at("format_version").get<int>();
    if (version != kEntryFormatVersion) {
      r.problem = "format version " + std::to_string(version) + " in a v" +
                  std::to_string(kEntryFormatVersion) + " directory";
      return false;
    }
    Artifact& a = r.artifact;
    a.digest = body.at("digest").get<std::string>();
    if (a.digest != digest) {
      r.problem = "manifest digest " + a.digest + " does not match the entry's name";
      return false;
    }
    a.key_text = body.at("key_text").get<std::string>();
    a.arch = body.at("arch").get<std::string>();
    a.options = body.at("options").get<std::vector<std::string>>();
    for (const auto& k : body.at("kernels"))
      a.kernels.push_back(KernelEntry{k.at("name_expression").get<std::string>(),
                                      k.at("lowered_name").get<std::string>(),
                                      resources_from(k.at("resources"))});
    a.compile_ms = body.at("compile_ms").get<double>();
    std::set<std::string> names;
    for (const auto& f : body.at("files")) {
      EntryFile e{f.at("name").get<std::string>(), f.at("size").get<std::uint64_t>(),
                  f.at("sha256").get<std::string>()};
      if (!is_sha256_hex(e.sha256) || !names.insert(e.name).second) {
        r.problem = "manifest file list is malformed at " + e.name;
        return false;
      }
      r.files.push_back(std::move(e));
    }
    std::set<std::string> expected(std::begin(kPayloadFiles), std::end(kPayloadFiles));
    if (names != expected) {
      r.problem = "manifest does not list exactly the expected files";
      return false;
    }
  } catch (const json::exception& e) {
    r.problem = std::string("manifest field missing or of the wrong type: ") + e.what();
    return false;
  }
  return true;
}

// Sets r to Vanished when `dir` no longer names the directory open as `dir_fd`, else to Corrupt
// with `problem`.
void missing_or_vanished(const std::filesystem::path& dir, EntryRead& r, std::string problem) {
  auto now = cachefs::identity_of(dir);
  if (!now || !(*now == r.identity)) {
    r.status = EntryStatus::Vanished;
    r.problem = "entry was removed while being read";
    return;
  }
  r.status = EntryStatus::Corrupt;
  r.problem = std::move(problem);
}

template <class Container>
bool read_payload(int dir_fd, const std::filesystem::path& dir, const EntryFile& f, Container& out,
                  EntryRead& r) {
  cachefs::ReadStatus st = cachefs::read_file_at(dir_fd, f.name, out, f.size);
  if (st.err == ENOENT) {
    missing_or_vanished(dir, r, f.name + " is missing");
    return false;
  }
  if (st.err != 0) {
    r.status = EntryStatus::Corrupt;
    r.problem = cachefs::errno_message("cannot read " + f.name, st.err);
    return false;
  }
  if (st.size_mismatch) {
    r.status = EntryStatus::Corrupt;
    r.problem = f.name + " has " + std::to_string(st.actual_size) + " bytes, manifest says " +
                std::to_string(f.size);
    return false;
  }
  if (sha256_hex(std::string_view(reinterpret_cast<const char*>(out.data()), out.size())) !=
      f.sha256) {
    r.status = EntryStatus::Corrupt;
    r.problem = f.name + " checksum mismatch";
    return false;
  }
  return true;
}

}  // namespace

std::string entry_format_dir_name() {
  std::string name = "v";
  name += std::to_string(kEntryFormatVersion);
  return name;
}

std::string stamp_text(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(ns));
  return buf;
}

std::string write_entry(const std::filesystem::path& dir, const Artifact& artifact, bool sync) {
  cachefs::UniqueFd dfd = cachefs::open_dir(dir);
  if (!dfd.valid()) return cachefs::errno_message("cannot open " + dir.string(), errno);
  std::vector<EntryFile> files;
  for (const char* name : kPayloadFiles) {
    std::string_view data = payload_of(artifact, name);
    std::string err = cachefs::write_new_file(dfd.get(), name, data, sync);
    if (!err.empty()) return err;
    files.push_back(EntryFile{name, data.size(), sha256_hex(data)});
  }
  std::string body;
  try {
    body = manifest_body(artifact, files);
  } catch (const nlohmann::json::exception& e) {
    return std::string("cannot encode the manifest (key text or options not UTF-8?): ") + e.what();
  }
  std::string text;
  text.reserve(body.size() + 100);
  text.append(kPrefix).append(sha256_hex(body)).append(kMiddle).append(body).append(kSuffix);
  return cachefs::write_new_file(dfd.get(), kManifestFile, text, sync);
}

EntryRead read_entry(const std::filesystem::path& dir, std::string_view digest, bool payloads) {
  EntryRead r;
  cachefs::UniqueFd dfd = cachefs::open_dir(dir);
  if (!dfd.valid()) {
    // Absent, or a path that cannot be a directory or cannot be read: nothing to load there.
    r.status = EntryStatus::Missing;
    r.problem = cachefs::errno_message("cannot open " + dir.string(), errno);
    return r;
  }
  if (auto id = cachefs::identity_of_fd(dfd.get())) r.identity = *id;
  std::string manifest;
  cachefs::ReadStatus st = cachefs::read_file_at(dfd.get(), kManifestFile, manifest, std::nullopt);
  if (st.err == ENOENT) {
    missing_or_vanished(dir, r, "manifest.json is missing");
    return r;
  }
  if (st.err != 0 || st.size_mismatch) {
    r.status = EntryStatus::Corrupt;
    r.problem = st.err != 0 ? cachefs::errno_message("cannot read manifest.json", st.err)
                            : "manifest.json changed size while being read";
    return r;
  }
  r.status = EntryStatus::Corrupt;
  auto body = verified_body(manifest, r.problem);
  if (!body || !parse_body(*body, digest, r)) return r;
  if (payloads) {
    std::string key;
    for (const auto& f : r.files) {
      bool ok = false;
      if (f.name == kKeyFile)
        ok = read_payload(dfd.get(), dir, f, key, r);
      else if (f.name == kSourceFile)
        ok = read_payload(dfd.get(), dir, f, r.artifact.source, r);
      else if (f.name == kLogFile)
        ok = read_payload(dfd.get(), dir, f, r.artifact.log, r);
      else if (f.name == kPtxFile)
        ok = read_payload(dfd.get(), dir, f, r.artifact.ptx, r);
      else
        ok = read_payload(dfd.get(), dir, f, r.artifact.cubin, r);
      if (!ok) return r;
    }
    if (key != r.artifact.key_text) {
      r.problem = "key.txt differs from the manifest's key text";
      return r;
    }
  }
  r.status = EntryStatus::Ok;
  r.problem.clear();
  return r;
}

}  // namespace moejit
