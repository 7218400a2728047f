// The CUDA templates embedded in the library at build time, with the SHA-256 of the bundle.
#pragma once

#include <span>
#include <string_view>

namespace moejit::templates {

struct EmbeddedTemplate {
  std::string_view path;  // relative to templates/, e.g. "moe_params.cuh"
  std::string_view text;
};

// Every embedded template, sorted by path.
std::span<const EmbeddedTemplate> embedded_templates();

// SHA-256 (hex) over every file's path and content hash, in path order.
std::string_view embedded_bundle_hash();

}  // namespace moejit::templates
