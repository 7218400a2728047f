// The default spec matrix shared by the codegen and compiler tests.
#pragma once

#include <string>
#include <vector>

#include "codegen/spec_syntax.hpp"
#include "moejit/types.hpp"

namespace moejit::test {

// Every variant x format x element with its default tile, for one architecture (32 specs).
inline std::vector<KernelSpec> all_default_specs(const std::string& arch) {
  std::vector<std::string> texts;
  for (GgufBlockFormat f : kWeightFormats) {
    const std::string fmt(format_name(f));
    texts.push_back("scalar_gguf:" + fmt);
    texts.push_back("wmma_gguf:" + fmt + ":f16");
    texts.push_back("wmma_gguf:" + fmt + ":bf16");
  }
  texts.push_back("wmma:f16");
  texts.push_back("wmma:bf16");
  std::vector<KernelSpec> specs;
  for (const std::string& t : texts) specs.push_back(parse_kernel_spec(t + ":" + arch));
  return specs;
}

}  // namespace moejit::test
