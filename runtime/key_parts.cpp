// Key parts of a compiled kernel and their digest.
#include "runtime/key_parts.hpp"

#include <algorithm>

#include "cache/sha256.hpp"
#include "codegen/kernel_key.hpp"
#include "runtime/cuda_toolkit.hpp"
#include "runtime/nvrtc_check.hpp"

namespace moejit {
namespace {

// Version of the serialisation below; part of the hashed text.
constexpr int kKeyFormatVersion = 1;

void add(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ' ';
  out += std::to_string(value.size());
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string KeyParts::serialize() const {
  std::string out = "moejit-kernel-key " + std::to_string(kKeyFormatVersion) + "\n";
  add(out, "key", key_text);
  add(out, "codegen", std::to_string(codegen_version));
  add(out, "templates", template_bundle_hash);
  add(out, "nvrtc", nvrtc_version);
  add(out, "arch", arch);
  for (const std::string& o : options) add(out, "option", o);
  for (const auto& [name, value] : knobs) add(out, "knob", name + "=" + value);
  return out;
}

std::string KeyParts::digest() const { return sha256_hex(serialize()); }

std::vector<std::pair<std::string, std::string>> KeyParts::describe() const {
  std::string opts, knob_text;
  for (const std::string& o : options) opts += (opts.empty() ? "" : " ") + o;
  for (const auto& [name, value] : knobs)
    knob_text += (knob_text.empty() ? "" : ", ") + name + "=" + value;
  return {{"digest", digest()},
          {"kernel key", key_text},
          {"codegen version", std::to_string(codegen_version)},
          {"template bundle", template_bundle_hash},
          {"nvrtc version", nvrtc_version},
          {"arch", arch},
          {"options", opts},
          {"code-changing knobs", knob_text.empty() ? "none" : knob_text}};
}

KeyParts make_key_parts(const KernelSource& source, const TemplateSource& templates) {
  KeyParts k;
  k.key_text = source.key_text;
  k.codegen_version = kCodegenVersion;
  k.template_bundle_hash = templates.bundle_hash();
  k.nvrtc_version = nvrtc_version().to_string();
  k.arch = source.arch;
  k.options = source.options;
  std::sort(k.options.begin(), k.options.end());
  if (const auto& toolkit = process_cuda_toolkit();
      toolkit && toolkit->version != nvrtc_version().as_cuda_version())
    k.knobs.emplace_back("cuda_headers", std::to_string(toolkit->version));
  return k;
}

}  // namespace moejit
