// The plan API: describe an MoE expert GEMM (MoeDescriptor), select a kernel for it once
// (MoePlan::select compiles or loads it from the cache), then run it many times (MoePlan::run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "moejit/precision.hpp"
#include "moejit/types.hpp"

namespace moejit {

// A CUDA stream (CUstream or cudaStream_t); nullptr is the legacy default stream.
using Stream = void*;

// Tile of one CTA, for callers that pin it (benchmarks, autotuning). Tensor-core variants: bm
// rows of an expert's segment, bn output columns, bk the K step, warps per CTA, pipeline stages.
// ScalarGguf: bm entries per CTA, bn output columns per CTA, bk 0, stages 1.
// reg_weights: the WmmaGguf register-weight tile on sm_90a (q4_0, q4_1, q5_0, q5_1, q8_0, q4_K,
// q6_K; docs/tuning.md): bm is the most entries of a tile, bn the weight rows (16 per warp), the
// dequantized weights the wgmma A operand in registers.
struct TileRequest {
  int bm = 0;
  int bn = 0;
  int bk = 0;
  int warps = 4;
  int stages = 1;
  bool reg_weights = false;
};

// One MoE expert GEMM: for every routed (token, slot) pair, one output row of d_expert values.
//
// Pair-index convention (docs/semantics.md). P = num_tokens * top_k pairs; pair p = t * top_k + j
// is token t's slot j. The output is [P, d_expert]. Entry i of the routed list (MoeArgs) targets
// pair p = sorted_ids[i] with expert e = expert_ids[i] and writes output row p:
//   out[p, n] = s * sum_k A[r, k] * W[e, n, k]   (an assignment, not an accumulation)
// with r = p and s = topk_weights[p] when top-k weights are given, else r = p / top_k and s = 1.
// Each pair is targeted by at most one entry, so each row is written exactly once and top_k > 1
// is race-free. Entries whose expert id lies outside [0, num_experts) or whose pair id lies
// outside [0, P) are skipped: their rows are left untouched (the out-of-range rule); rows no
// entry targets are left untouched too (the output is not zeroed). For Wmma and WmmaGguf,
// expert_ids must be sorted ascending (entries grouped by expert); ScalarGguf takes any order.
struct MoeDescriptor {
  std::int64_t num_tokens = 0;   // T >= 0
  std::int64_t num_experts = 0;  // E > 0
  std::int64_t top_k = 1;        // experts per token, 0 < top_k <= E
  std::int64_t d_model = 0;      // K, input width
  std::int64_t d_expert = 0;     // N, output width per expert
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> block_format;  // GGUF variants: the weight format; Wmma: none
  ElementKind element = ElementKind::F16;       // ScalarGguf: F32; Wmma, WmmaGguf: F16 or Bf16
  bool is_prefill = false;                      // picks the prefill (many tokens) tile family
  std::optional<TileRequest> tile;              // pins the tile; otherwise the default heuristic
};

// How select chooses and prepares the kernel.
struct PlanPreference {
  // Compile for this target ("sm_80", "sm_86", "sm_89", "sm_90", "sm_90a") instead of the
  // current device's; works without a GPU (run() then needs a device of that architecture).
  std::optional<std::string> arch;
  // Device ordinal whose architecture is used and on which the kernel is loaded when no context
  // is current (default: the current context's device, else 0).
  std::optional<int> device;
  // The stream run() will use. select refuses to compile while it (or, when null, the legacy
  // stream) is being captured into a CUDA graph; a cache hit is fine.
  Stream stream = nullptr;
  // Compile d_model and d_expert into the kernel as constants.
  bool specialize_sizes = false;
  // A tile table (JSON written by `moejit tune`, docs/tuning.md) consulted for the default tile
  // before the table shipped with the library; overrides MOEJIT_TILE_TABLE. Its stamp must match
  // this build and the target architecture unless the table is pinned (`moejit tune --pin`);
  // select throws Error(InvalidProblem) otherwise. A descriptor's tile still wins.
  std::optional<std::string> tile_table;
};

// Device buffers of one call, with their sizes (checked against the descriptor by run()).
// Element types: ScalarGguf activations f32, output f32; Wmma activations, weights and output
// the element type; WmmaGguf activations the element type, output f32. GGUF weights are raw
// blocks [E, d_expert, d_model / block_elems], dense weights [E, d_expert, d_model].
// Alignment: activations, weights, output and the workspace 16 bytes (cudaMalloc gives 256);
// sorted_ids, expert_ids and topk_weights 4 bytes. A pointer may be null when its buffer holds
// nothing the call reads (size_m = 0, or num_tokens = 0).
struct MoeArgs {
  const void* activations = nullptr;  // [R, d_model]: R = P with topk_weights, else num_tokens
  std::size_t activations_bytes = 0;
  const std::int32_t* sorted_ids = nullptr;  // [size_m] pair ids
  const std::int32_t* expert_ids = nullptr;  // [size_m] expert of each entry
  std::size_t size_m = 0;                    // routed entries (usually P)
  const float* topk_weights = nullptr;       // [P] indexed by pair id, or null
  std::size_t topk_weights_count = 0;
  const void* weights = nullptr;  // expert matrices
  std::size_t weights_bytes = 0;
  void* output = nullptr;  // [P, d_expert]
  std::size_t output_bytes = 0;
};

class MoePlan {
 public:
  // Validates the descriptor, picks the kernel (variant, format, element type, tile, target
  // architecture), and gets it from the cache or compiles it. When a device is present, loads it
  // on the current context so that run() only launches. Thread-safe. A problem selected before in
  // this process (same descriptor, preference but its stream, and target) returns the same plan
  // from a process-wide memo of up to 4096 plans: a lookup of a few microseconds.
  // Throws Error: InvalidProblem (a field out of range, named with its limit), Unsupported (a
  // valid problem this build or device cannot run; compiling during stream capture), NoDevice
  // (no device and no PlanPreference::arch), CompileError, CacheError (MOEJIT_NO_JIT miss),
  // CudaError.
  static MoePlan select(const MoeDescriptor& descriptor, const PlanPreference& preference = {});

  // Bytes of device scratch memory run() needs (16-byte aligned), 0 if none.
  std::size_t workspace_size() const;

  // The canonical kernel key text, e.g. "wmma_gguf:q4_k:bf16:sm_90:64x64x32:w4:s3".
  std::string sku() const;

  // The target architecture the kernel was compiled for, e.g. "sm_90".
  std::string arch() const;

  // What the kernel rounds where, and its per-element error bound.
  PrecisionGuarantee precision_guarantee() const;

  const MoeDescriptor& descriptor() const;

  // Enqueues the kernel(s) on `stream` (a stream of the current context). Checks every argument
  // against the descriptor first. No allocation, host synchronisation or host-side memset: it
  // can be captured into a CUDA graph. The first run on a context loads the module there (do it
  // once before capturing if select ran without that context current). Stream order as for one
  // kernel; on sm_90+ the call's kernels use programmatic dependent launch, and a kernel launched
  // after it with programmatic stream serialization must call cudaGridDependencySynchronize()
  // before reading the output (docs/semantics.md, "Order on the stream").
  // Throws Error: InvalidProblem (an argument missing, too small or misaligned, named), NoDevice,
  // Unsupported (the device's architecture cannot run this kernel), CudaError.
  void run(Stream stream, void* workspace, std::size_t workspace_bytes, const MoeArgs& args) const;

  struct State;

 private:
  explicit MoePlan(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
  friend struct PlanAccess;
};

}  // namespace moejit
