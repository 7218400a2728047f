// The tiles `moejit tune` times for one problem point: a short, ordered, deterministic list of
// valid tiles around what the problem's shape calls for, always holding the default tile.
#pragma once

#include <optional>
#include <vector>

#include "codegen/kernel_spec.hpp"
#include "codegen/kernel_template.hpp"

namespace moejit {

// At most this many candidates per point.
inline constexpr std::size_t kMaxTileCandidates = 20;

// Valid tiles (tile_error == nullopt) worth timing for the problem, best guesses first: the
// default tiles (default_tile and heuristic_tile, decode and prefill families), the first of them
// one stage deeper and one shallower (tensor-core tiles of 3 or more stages), then tiles
// ranked by parallelism (CTAs against SMs), warp-tile size for the rows an expert receives and
// the depth of the K pipeline, at most two per CTA shape. Tensor-core variants: BM 16..128 not
// much above the rows per touched expert, BN 32..256, BK 32..128 (wmma_gguf k-quants 64..256),
// 2, 4 or 8 warps, 2..6 stages (wmma_gguf 3..6); wmma on sm_90a: warpgroup tiles, BM 64..192,
// BN 64..256, BK 64, 4..12 warps, 3..8 stages. scalar_gguf: bm 1..8, bn 4..32, 2, 4 or 8
// warps, direct (bk 0), and for the leading shapes their staged twins (bk of 32 chunks, at most
// K rounded up to whole 16-byte words; 2 stages when K holds two segments); from 8 entries per
// expert also int8 tensor-core tiles, ranked first (bm 16..64, bn 64 or 128, 4 or 8 warps, bk
// 128 or 256, 3 or 4 stages); wmma_gguf on sm_90a with the formats of register-weight tiles
// (has_register_weight_tiles: 32-element blocks, q4_K, q6_K) also four register-weight tiles (rw,
// BM the typical segment rounded up to 32 entries, 32 to 192; 4, 8 and 12 warps), after the default
// tiles. Same inputs, same list.
std::vector<Tile> candidate_tiles(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                  ElementKind element, GpuArch arch, const ProblemDims& dims);

}  // namespace moejit
