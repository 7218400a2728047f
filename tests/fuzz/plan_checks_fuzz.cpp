// The plan API's checks (runtime/plan_checks), fed descriptors, tiles, architectures and run()
// arguments from the fuzzer. The path select takes before compiling is replayed: descriptor,
// architecture, spec and tile, launch geometry; then run()'s argument check. Properties:
//   - every rejection is Error(InvalidProblem) or Error(Unsupported);
//   - the derived sizes of an accepted descriptor are exact (checked in 128-bit arithmetic);
//   - an accepted problem has launches that fit CUDA's limits and a workspace whose areas are
//     aligned and inside it;
//   - run()'s argument check accepts exactly the arguments the documented rules accept
//     (docs in include/moejit/moe_plan.hpp), computed independently here.
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "moejit/error.hpp"
#include "runtime/plan_checks.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using moejit::fuzz::fail;
using moejit::fuzz::FuzzInput;
namespace pc = moejit::plan_checks;
using Wide = __int128;

namespace {

const GpuArch kArchs[] = {{80, false}, {86, false}, {87, false}, {89, false},
                          {90, false}, {90, true},  {75, false}, {100, false}};

template <class T, std::size_t N>
const T& pick(FuzzInput& in, const T (&options)[N]) {
  return options[in.index(N)];
}

// Rejections must be the documented codes; anything else is a broken property.
template <class F>
bool accepted(const char* stage, F&& f) {
  try {
    f();
    return true;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::InvalidProblem && e.code() != ErrorCode::Unsupported)
      fail("plan checks reject with InvalidProblem or Unsupported",
           std::string(stage) + ": " + e.what());
    return false;
  }
}

MoeDescriptor descriptor_from(FuzzInput& in) {
  MoeDescriptor d;
  d.num_tokens = in.dimension();
  d.num_experts = in.dimension();
  d.top_k = in.byte() < 200 ? 1 + in.byte() % 16 : in.dimension();
  d.d_model = in.dimension();
  d.d_expert = in.dimension();
  d.variant = static_cast<MoeVariant>(in.byte() % 3);
  // Mostly what the variant takes (a weight format for GGUF, none for dense), sometimes not.
  const std::uint8_t f = in.byte();
  if (f < (d.variant == MoeVariant::Wmma ? 16 : 240))
    d.block_format = static_cast<GgufBlockFormat>(f % kBlockLayouts.size());
  d.element = static_cast<ElementKind>(in.byte() % 3);
  d.is_prefill = in.boolean();
  if (in.byte() < 64) {
    static const int kSizes[] = {0, 1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512, -1, 1 << 30};
    static const int kCounts[] = {1, 2, 3, 4, 6, 8, 16, 32, 33, 1024, 1 << 20, 0, -4};
    d.tile = TileRequest{pick(in, kSizes), pick(in, kSizes), pick(in, kSizes), pick(in, kCounts),
                         pick(in, kCounts)};
  }
  return d;
}

void check_sizes(const MoeDescriptor& d, const pc::OperandSizes& s) {
  const Wide K = d.d_model, N = d.d_expert, E = d.num_experts;
  const Wide P = Wide{d.num_tokens} * d.top_k;
  Wide row = K * static_cast<Wide>(element_bytes(d.element));
  if (d.block_format) {
    const BlockLayout& b = block_layout(*d.block_format);
    row = K / b.block_elems * b.block_bytes;
  }
  const Wide out_elem =
      d.variant == MoeVariant::Wmma ? static_cast<Wide>(element_bytes(d.element)) : 4;
  if (s.num_pairs != P || static_cast<Wide>(s.weight_row_bytes) != row ||
      static_cast<Wide>(s.weight_bytes) != E * N * row ||
      static_cast<Wide>(s.output_bytes) != P * N * out_elem || P > INT_MAX || K > INT_MAX ||
      N > INT_MAX || E >= INT_MAX)
    fail("derived sizes are exact and within the int32 limits",
         "T=" + std::to_string(d.num_tokens) + " E=" + std::to_string(d.num_experts) +
             " K=" + std::to_string(d.d_model) + " N=" + std::to_string(d.d_expert));
}

void check_layout(const WorkspaceLayout& w, const std::string& key) {
  if (w.offsets_offset % 256 != 0 || w.q8_offset % 256 != 0 ||
      (w.offsets_bytes > 0 && w.offsets_offset + w.offsets_bytes > w.total) ||
      (w.q8_bytes > 0 && w.q8_offset + w.q8_bytes > w.total) ||
      (w.offsets_bytes > 0 && w.q8_bytes > 0 &&
       !(w.offsets_offset + w.offsets_bytes <= w.q8_offset ||
         w.q8_offset + w.q8_bytes <= w.offsets_offset)))
    fail("workspace areas are aligned, apart and inside the workspace", key);
}

std::uintptr_t pointer_from(FuzzInput& in) {
  static const std::uintptr_t kPointers[] = {0, 0x10000, 0x10004, 0x10008, 0x10001, 0x7f0000100};
  return in.byte() < 250 ? pick(in, kPointers) : in.raw<std::uintptr_t>();
}

// A byte count near `need`: short by a little, exact, more, or anything.
std::size_t bytes_near(FuzzInput& in, Wide need) {
  const auto n = static_cast<std::size_t>(need);
  switch (in.byte() % 5) {
    case 0:
      return n == 0 ? 0 : n - 1 - in.byte() % std::min<std::size_t>(n, 3);
    case 1:
    case 2:
      return n;
    case 3:
      return n + in.byte();
    default:
      return in.raw<std::size_t>();
  }
}

struct Buffer {
  const char* name;
  std::uintptr_t address;
  Wide have;
  Wide need;
  std::size_t alignment;
};

// The documented rule of one buffer: nothing is checked when the call needs no bytes of it;
// otherwise it must be present, aligned and large enough.
bool rule_accepts(const Buffer& b) {
  if (b.need == 0) return true;
  return b.address != 0 && b.address % b.alignment == 0 && b.have >= b.need;
}

void check_args(FuzzInput& in, const MoeDescriptor& d, const pc::OperandSizes& s,
                const KernelSpec& spec, const std::string& key) {
  const Wide P = s.num_pairs;
  MoeArgs a;
  const bool weighted = in.byte() < 128;
  const std::uint8_t m = in.byte();
  a.size_m = m < 160   ? static_cast<std::size_t>(P)
             : m < 240 ? static_cast<std::size_t>(in.dimension())
                       : in.raw<std::size_t>();
  const Wide rows = weighted ? P : Wide{d.num_tokens};
  Wide ids_need = Wide{a.size_m} * 4;
  a.sorted_ids = reinterpret_cast<const std::int32_t*>(pointer_from(in));
  a.expert_ids = reinterpret_cast<const std::int32_t*>(pointer_from(in));
  if (weighted) {
    a.topk_weights = reinterpret_cast<const float*>(pointer_from(in) | 0x100000);
    a.topk_weights_count = bytes_near(in, P);
  } else if (in.byte() < 16) {
    a.topk_weights_count = 1 + in.byte();  // a count without weights: rejected
  }
  a.activations = reinterpret_cast<const void*>(pointer_from(in));
  a.activations_bytes = bytes_near(in, rows * static_cast<Wide>(s.activation_row_bytes));
  a.weights = reinterpret_cast<const void*>(pointer_from(in));
  a.weights_bytes = bytes_near(in, s.weight_bytes);
  a.output = reinterpret_cast<void*>(pointer_from(in));
  a.output_bytes = bytes_near(in, s.output_bytes);

  // What run() plans for this entry count (runtime/plan.cpp): nothing for an empty call or an
  // entry count past the limit, else the launches and workspace of size_m entries.
  Wide workspace_need = 0;
  const bool empty = a.size_m == 0 || P == 0;
  if (!empty && a.size_m <= static_cast<std::size_t>(pc::kMaxEntries)) {
    const ProblemDims dims = pc::problem_dims(d, static_cast<std::int64_t>(a.size_m), weighted);
    if (!accepted("launches for size_m",
                  [&] { pc::validate_launches(launch_plan(spec, dims), spec.arch, key); }))
      return;
    const WorkspaceLayout w = workspace_layout(spec, dims);
    check_layout(w, key);
    workspace_need = w.total;
  }
  const auto workspace = reinterpret_cast<void*>(pointer_from(in));
  const std::size_t workspace_bytes = bytes_near(in, workspace_need);

  const Buffer buffers[] = {
      {"sorted_ids", reinterpret_cast<std::uintptr_t>(a.sorted_ids), ids_need, ids_need, 4},
      {"expert_ids", reinterpret_cast<std::uintptr_t>(a.expert_ids), ids_need, ids_need, 4},
      {"topk_weights", reinterpret_cast<std::uintptr_t>(a.topk_weights),
       Wide{a.topk_weights_count} * 4, weighted ? P * 4 : 0, 4},
      {"activations", reinterpret_cast<std::uintptr_t>(a.activations), a.activations_bytes,
       rows * static_cast<Wide>(s.activation_row_bytes), 16},
      {"weights", reinterpret_cast<std::uintptr_t>(a.weights), a.weights_bytes, s.weight_bytes, 16},
      {"output", reinterpret_cast<std::uintptr_t>(a.output), a.output_bytes, s.output_bytes, 16},
      {"workspace", reinterpret_cast<std::uintptr_t>(workspace), workspace_bytes, workspace_need,
       16},
  };
  bool expected = a.size_m <= static_cast<std::size_t>(pc::kMaxEntries) &&
                  (weighted || a.topk_weights_count == 0) &&
                  (!weighted || Wide{a.topk_weights_count} >= P);
  std::string why = expected ? "" : "size_m or topk_weights_count";
  for (const Buffer& b : buffers)
    if (!rule_accepts(b)) {
      expected = false;
      why += std::string(why.empty() ? "" : ", ") + b.name;
    }
  std::string message;
  bool ok = true;
  try {
    pc::validate_args(d, s, static_cast<std::size_t>(workspace_need), workspace, workspace_bytes,
                      a);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::InvalidProblem)
      fail("run() argument errors are InvalidProblem", e.what());
    ok = false;
    message = e.what();
  }
  if (ok != expected)
    fail("run() accepts exactly the arguments the rules accept",
         key + (ok ? ": accepted, but the rules reject " + why : ": rejected (" + message + ")") +
             "\n  size_m=" + std::to_string(a.size_m) +
             " topk_weights_count=" + std::to_string(a.topk_weights_count));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const MoeDescriptor d = descriptor_from(in);
  const GpuArch arch = pick(in, kArchs);
  const bool specialize = in.boolean();

  pc::OperandSizes sizes;
  if (!accepted("descriptor", [&] { sizes = pc::validate_descriptor(d); })) return 0;
  check_sizes(d, sizes);
  KernelSpec spec;
  std::string key;
  const bool ready = accepted("select", [&] {
    pc::validate_arch(d, arch);
    spec = pc::make_spec(d, arch, specialize);
    pc::validate_spec(spec, d.tile.has_value());
    key = kernel_key_text(spec);
    for (const bool weighted : {true, false})
      pc::validate_launches(launch_plan(spec, pc::problem_dims(d, sizes.num_pairs, weighted)),
                            spec.arch, key);
  });
  if (!ready) return 0;
  if (d.tile &&
      !(spec.tile == Tile{d.tile->bm, d.tile->bn, d.tile->bk, d.tile->warps, d.tile->stages}))
    fail("a requested tile is the one used", key);
  for (const bool weighted : {true, false}) {
    const ProblemDims dims = pc::problem_dims(d, sizes.num_pairs, weighted);
    if (dims.size_m == 0) continue;
    for (const KernelStep& step : launch_plan(spec, dims))
      for (int i = 0; i < 3; ++i)
        if (step.dims.grid[i] == 0 || step.dims.block[i] == 0)
          fail("a call with entries launches non-empty grids", key + " " + step.name_expression);
    check_layout(workspace_layout(spec, dims), key);
  }
  check_args(in, d, sizes, spec, key);
  return 0;
}
