// Kernel spec text (the CLI's and the cache key's syntax). Properties: parsing any text either
// gives a spec or throws Error(InvalidProblem); a parsed spec is valid (spec_error, tile_error),
// its canonical key reads back to the same spec, and its source, template, launch plan and
// workspace can be generated for a range of problem sizes without error.
#include <cstdint>
#include <string>

#include "codegen/emitter.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using moejit::fuzz::fail;

namespace {

void check_problem(const KernelSpec& spec, const std::string& key, const ProblemDims& dims) {
  if (spec.const_n != 0 && dims.size_n != spec.const_n) return;
  if (spec.const_k != 0 && dims.size_k != spec.const_k) return;
  for (const KernelStep& step : launch_plan(spec, dims)) {
    const LaunchDims& l = step.dims;
    if (l.block[0] * l.block[1] * l.block[2] == 0)
      fail("launch blocks are not empty", key + " " + step.name_expression);
  }
  const WorkspaceLayout w = workspace_layout(spec, dims);
  if (w.offsets_offset % 256 != 0 || w.q8_offset % 256 != 0 ||
      w.offsets_offset + w.offsets_bytes > w.total || w.q8_offset + w.q8_bytes > w.total)
    fail("workspace areas are aligned and inside the workspace", key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  KernelSpec spec;
  try {
    spec = parse_kernel_spec(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::InvalidProblem)
      fail("spec text errors are InvalidProblem", std::string(e.what()) + "\n  text: " + text);
    return 0;
  }
  const std::string key = kernel_key_text(spec);
  if (auto why = spec_error(spec)) fail("a parsed spec is a valid combination", key + ": " + *why);
  if (auto why = tile_error(spec)) fail("a parsed spec has a valid tile", key + ": " + *why);
  KernelSpec back;
  try {
    back = parse_kernel_spec(key);
  } catch (const Error& e) {
    fail("a canonical key parses", key + ": " + e.what());
  }
  if (!(back == spec)) fail("a canonical key reads back to its spec", key);
  try {
    const KernelSource source = emit_source(spec);
    if (source.key_text != key) fail("the emitted source names its key", source.key_text);
    kernel_template(spec);
    const std::int64_t n = spec.const_n != 0 ? spec.const_n : 768;
    const std::int64_t k = spec.const_k != 0 ? spec.const_k : 2048;
    for (std::int64_t tokens : {0, 1, 7, 512})
      for (std::int64_t experts : {1, 8, 128}) {
        const std::int64_t top_k = experts < 8 ? 1 : 8;
        const std::int64_t pairs = tokens * top_k;
        check_problem(spec, key, ProblemDims{pairs, n, k, experts, pairs, pairs});
        check_problem(spec, key, ProblemDims{pairs, n, k, experts, pairs, tokens});
      }
  } catch (const Error& e) {
    fail("a valid spec generates its kernel and launches", key + ": " + e.what());
  }
  return 0;
}
