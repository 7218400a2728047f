// Canonical key text of a KernelSpec.
#include "codegen/kernel_key.hpp"

namespace moejit {

std::string kernel_key_text(const KernelSpec& spec) {
  std::string key(variant_name(spec.variant));
  if (spec.format) {
    key += ':';
    key += format_name(*spec.format);
  }
  key += ':';
  key += element_name(spec.element);
  key += ':' + spec.arch.to_string();
  key += ':' + std::to_string(spec.tile.bm) + 'x' + std::to_string(spec.tile.bn) + 'x' +
         std::to_string(spec.tile.bk);
  key += ":w" + std::to_string(spec.tile.warps);
  key += ":s" + std::to_string(spec.tile.stages);
  if (spec.tile.reg_weights) key += ":rw";
  if (spec.const_n != 0) key += ":n=" + std::to_string(spec.const_n);
  if (spec.const_k != 0) key += ":k=" + std::to_string(spec.const_k);
  return key;
}

}  // namespace moejit
