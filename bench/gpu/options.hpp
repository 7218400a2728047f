// Command-line options of moejit_gpu_bench and the kernels they select.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/gpu/peers.hpp"
#include "moejit/types.hpp"

namespace moejit::gpubench {

// One kernel configuration the benchmark times: a variant with its weight format (GGUF
// variants) and element type (f32 activations for ScalarGguf, bf16 for WmmaGguf).
struct KernelConfig {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;
  ElementKind element = ElementKind::Bf16;

  // "q4_k" for GGUF weights, "f16" / "bf16" for dense ones: what --format names.
  std::string weight_name() const;
  // "wmma_gguf q4_k bf16".
  std::string label() const;
};

// Every configuration in table order: per GGUF format ScalarGguf then WmmaGguf, then Wmma f16
// and bf16.
std::vector<KernelConfig> all_kernels();

struct Options {
  std::vector<Shape> shapes;
  std::vector<int> tokens;
  std::vector<KernelConfig> kernels;
  int iters = 200;  // timed calls per point
  int warmup = 20;  // untimed calls before them
  bool check = false;
  bool markdown = false;
  std::string json_path;     // empty: no JSON file
  std::string summary_path;  // empty: no summary file
  std::string command_line;  // as given, for the report
};

// What parse_options decided: run with the options, or exit with a code after printing text
// (usage on --help with code 0; an error message with code 2).
struct ParseOutcome {
  std::optional<Options> options;
  int exit_code = 0;
  std::string text;
};

ParseOutcome parse_options(int argc, char** argv);

}  // namespace moejit::gpubench
