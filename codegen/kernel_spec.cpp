// KernelSpec is a plain aggregate; keys and sources are produced in kernel_key.cpp and
// emitter.cpp. Here: the text of a tile in messages.
#include "codegen/kernel_spec.hpp"

namespace moejit {

std::string tile_text(const Tile& t) {
  return std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk) + " w" +
         std::to_string(t.warps) + " s" + std::to_string(t.stages) + (t.reg_weights ? " rw" : "");
}

}  // namespace moejit
