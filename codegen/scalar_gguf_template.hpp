// ScalarGguf facts beyond the kernel_template.hpp contract: the launch constants and the weight
// alignment the templates (templates/scalar_gguf.cuh, templates/formats/vec_dot*.cuh) rely on.
#pragma once

#include <cstddef>

#include "codegen/kernel_spec.hpp"
#include "moejit/types.hpp"

namespace moejit::scalar_gguf_codegen {

// Threads per CTA of quantize_q8_1_kernel (one warp per q8_1 block) and the most CTAs it is given
// (it grid-strides over the rest).
inline constexpr unsigned kQuantizeThreads = 256;
inline constexpr unsigned kMaxQuantizeCtas = 8192;

// Tile limits of scalar_gguf_kernel: entries per CTA window, columns per warp, and accumulator
// registers per thread (bm * bn / warps).
inline constexpr int kMaxBlockM = 8;
// Tiles with bm >= 16 run on int8 tensor cores (templates/scalar_gguf_mma.cuh): windows of at most
// this many entries (a multiple of 16), at most kMaxMmaAccumulators f32 accumulators per thread,
// 3 to kMaxMmaStages ring stages, an sm_80+ target.
inline constexpr int kMmaBlockM = 16;
inline constexpr int kMaxMmaBlockM = 64;
inline constexpr int kMaxMmaAccumulators = 64;
inline constexpr int kMaxMmaStages = 8;
inline constexpr int kMinMmaSm = 80;
inline constexpr int kMaxColsPerWarp = 8;
inline constexpr int kMaxAccumulators = 32;
// Most segments in a warp's shared-memory ring (tiles with bk > 0).
inline constexpr int kMaxStagedStages = 8;

// The byte alignment scalar_gguf_kernel assumes for every weight block address, so the weights
// pointer, weight_expert_stride and weight_row_stride must all be multiples of it: 16 for q4_K and
// q5_K (16-byte loads), 4 for q4_1, q5_1 and q2_K, 2 for q4_0, q5_0, q8_0, q3_K and q6_K (their
// blocks are only 2-byte aligned inside a row; the loads handle both 4-byte phases). Throws
// Error(InvalidProblem) for q8_1, which is not a weight format.
std::size_t weight_alignment(GgufBlockFormat format);

// Tiles with bk > 0 stage K segments of bk elements through shared memory in whole 16-byte words:
// bk must be a multiple of this (256 for q4_0, q5_0 and q8_0, 128 for q4_1, 64 for q5_1, 256 for
// q4_K and q5_K, 1024 for q2_K, 2048 for q3_K and q6_K). The kernel takes that path when
// the weights, both strides and the row length in bytes are multiples of 16, and loads straight
// from global memory otherwise.
int staged_bk_step(GgufBlockFormat format);

// Bytes of one weight row's K segment of bk elements (bk a multiple of the block size).
std::size_t staged_segment_bytes(GgufBlockFormat format, int bk);

// Whether the spec's tile runs on int8 tensor cores (scalar_gguf_mma_kernel): bm >= 16.
bool uses_mma(const Tile& tile);

// The K step of an int8 tensor-core tile must hold whole decode chunks: a multiple of 32 for the
// 32-element formats, 64 for q2_K, q3_K, q4_K and q5_K (chunks of two adjacent sub-blocks), 128
// for q6_K (chunks of sub-blocks 4h + r and 4h + r + 2).
int mma_bk_step(GgufBlockFormat format);

// K elements one lane decodes per step (a chunk, Fmt::kChunkSubs sub-blocks of 32 in
// templates/formats/vec_dot_*.cuh): 32 for the 32-element formats, 64 for the k-quants.
int chunk_elems(GgufBlockFormat format);

}  // namespace moejit::scalar_gguf_codegen
