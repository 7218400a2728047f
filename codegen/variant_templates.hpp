// Per-variant halves of kernel_template.hpp: kernel_template.cpp dispatches on the variant.
#pragma once

#include "codegen/kernel_template.hpp"

namespace moejit {
// Bounds far past any valid tile of any variant (no architecture has the threads or shared memory
// for more). Each variant's tile_error checks them first (tile_range_error), so that its own
// rules, which give the precise limits, can multiply tile numbers in int without overflowing.
inline constexpr int kMaxTileExtent = 4096;  // BM, BN, BK
inline constexpr int kMaxTileWarps = 1024;
inline constexpr int kMaxTileStages = 1024;
std::optional<std::string> tile_range_error(const Tile& tile);

// Rows of the warp grid of a bm x bn tensor-core tile of `warps` warps (0: no layout whose warp
// tiles are multiples of 16x16). Mirror of moejit::tc::warp_rows (templates/tc/tile_map.cuh).
int tc_warp_rows(int bm, int bn, int warps);

// Bytes of the raw GGUF staging ring of a tile (tc::GgufRawSteps::kRingBytes,
// templates/tc/gguf_steps.cuh): (stages - 3) / P + 2 slots, P = the K steps per block (qk / bk
// when bk < qk, else 1), of bn rows of the 16-byte chunks covering a step's blocks.
std::int64_t gguf_raw_ring_bytes(GgufBlockFormat format, const Tile& tile);

// Slots of that ring: with bulk copies (the warpgroup kernel, tc::GgufRawSteps::kBarrierBytes)
// each has an 8-byte mbarrier after the ring.
std::int64_t gguf_raw_slots(GgufBlockFormat format, const Tile& tile);
}  // namespace moejit

namespace moejit::scalar_gguf_codegen {
KernelTemplate kernel_template(const KernelSpec& spec);
std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims);
WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims);
std::size_t shared_bytes(const KernelSpec& spec);
std::optional<std::string> tile_error(const KernelSpec& spec);
Tile default_tile(GgufBlockFormat format, GpuArch arch, const ProblemDims& dims, bool is_prefill);
}  // namespace moejit::scalar_gguf_codegen

// Wmma and WmmaGguf (format absent for Wmma).
namespace moejit::wmma_codegen {
KernelTemplate kernel_template(const KernelSpec& spec);
std::vector<KernelStep> launch_plan(const KernelSpec& spec, const ProblemDims& dims);
WorkspaceLayout workspace_layout(const KernelSpec& spec, const ProblemDims& dims);
std::size_t shared_bytes(const KernelSpec& spec);
std::optional<std::string> tile_error(const KernelSpec& spec);
Tile default_tile(std::optional<GgufBlockFormat> format, ElementKind element, GpuArch arch,
                  const ProblemDims& dims, bool is_prefill);
// Whether the spec runs on warpgroup MMAs (templates/wgmma.cuh, wgmma_gguf.cuh): a Wmma or
// WmmaGguf spec for sm_90a whose tile has the warpgroup shape (BM a multiple of 64, whole
// warpgroups splitting BM into 64-row slices and BN into 64-, 128- or 256-column slices, at least
// 3 stages; BK 64 for Wmma, 64, 128 or 256 for WmmaGguf). Every other tensor-core spec runs on
// mma.sync.
bool uses_wgmma(const KernelSpec& spec);
// Whether the spec runs the register-only decode kernel (templates/wmma_decode.cuh): a Wmma spec
// whose tile has 1 stage (no shared-memory pipeline).
bool uses_decode(const KernelSpec& spec);
}  // namespace moejit::wmma_codegen
