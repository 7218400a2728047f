// KeyParts: everything that determines a compiled kernel binary, and the content digest over
// them that names the kernel's cache entry.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "codegen/emitter.hpp"
#include "runtime/template_source.hpp"

namespace moejit {

struct KeyParts {
  std::string key_text;              // canonical kernel key text
  int codegen_version = 0;           // kCodegenVersion
  std::string template_bundle_hash;  // SHA-256 of the template files compiled against
  std::string nvrtc_version;         // of the loaded libnvrtc, e.g. "13.0"
  std::string arch;                  // target with its "a" suffix where used, e.g. "sm_90a"
  std::vector<std::string> options;  // canonical NVRTC options, sorted
  // Settings outside the source that change the generated code, sorted by name. No MOEJIT_*
  // knob does today (MOEJIT_TEMPLATE_DIR acts through the bundle hash); "cuda_headers" is
  // present when the toolkit headers found are of another CUDA version than libnvrtc.
  std::vector<std::pair<std::string, std::string>> knobs;

  // The canonical serialisation the digest hashes: a format line, then one length-prefixed
  // "name length value" line per part, in a fixed order.
  std::string serialize() const;
  // SHA-256 (hex) of serialize().
  std::string digest() const;
  // Every part as (label, value) for `moejit inspect`, the digest first.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

// The key parts of a generated source compiled against the given templates with this process's
// NVRTC and CUDA headers. Needs no GPU, no driver and no toolkit headers.
KeyParts make_key_parts(const KernelSource& source, const TemplateSource& templates);

}  // namespace moejit
