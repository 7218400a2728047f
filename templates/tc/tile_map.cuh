// Work decomposition of the tensor-core kernels: the warp layout of a CTA tile, and the mapping of
// a CTA's grid slot onto one m-tile of one expert's segment [offsets[e], offsets[e+1]).
#pragma once

#include "moe_params.cuh"

namespace moejit {
namespace tc {

// Rows of the kWarps warps' grid (kWarps = rows * cols) for a bm x bn CTA tile: among the layouts
// whose warp tile is a multiple of 16x16, the one with the squarest warp tile (ties: more rows).
// Returns 0 when no layout fits. codegen/wmma_template.cpp mirrors this function exactly.
constexpr int warp_rows(int bm, int bn, int warps) {
  int best = 0;
  int best_long = 0;
  int best_short = 0;
  for (int rows = 1; rows <= warps; ++rows) {
    if (warps % rows != 0) continue;
    const int cols = warps / rows;
    if (bm % (16 * rows) != 0 || bn % (16 * cols) != 0) continue;
    const int tm = bm / rows;
    const int tn = bn / cols;
    const int longer = tm > tn ? tm : tn;
    const int shorter = tm > tn ? tn : tm;
    // longer/shorter <= best_long/best_short, ties to the larger row count.
    if (best == 0 || longer * best_short <= best_long * shorter) {
      best = rows;
      best_long = longer;
      best_short = shorter;
    }
  }
  return best;
}

// Whether the grid uses the entry mapping (one slot per entry, a slot works when its entry starts
// an m-tile): when that is not more than the tile mapping's E + size_m / bm slots.
template <class Int>
__host__ __device__ constexpr bool entry_mapping(Int size_m, Int experts, int bm) {
  return size_m <= experts + size_m / bm;
}

// Grid slots of the main kernel along x for size_m entries, E experts and m-tile height bm.
// codegen mirrors this function.
__host__ __device__ constexpr long long tile_slot_count(long long size_m, long long experts,
                                                        int bm) {
  return entry_mapping(size_m, experts, bm) ? size_m : experts + size_m / bm;
}

// Entries [begin, end) of expert `expert`, at most bm of them; empty when the slot has no work.
struct MTile {
  int begin;
  int end;
  int expert;
};

// Height of the m-tiles of a segment of `count` entries: the segment is cut into
// ceil(count / bm) tiles of equal height, rounded up to kRowAlign, the rows one MMA covers (16 for
// mma.sync, 64 for a warpgroup's wgmma; bm is a multiple of it, so the height is at most bm).
// Tiles of one segment stream the same weights; equal heights keep them in step, so the weights
// one of them fetches are still in L2 when the others read them.
template <int kBM, int kRowAlign = 16>
__device__ __forceinline__ int m_tile_height(int count) {
  const int tiles = (count + kBM - 1) / kBM;
  const int height = (count + tiles - 1) / tiles;
  return (height + kRowAlign - 1) / kRowAlign * kRowAlign;
}

// Maps grid slot `slot` to its m-tile. Expert e has ceil(count_e / bm) m-tiles (count_e =
// offsets[e + 1] - offsets[e]), m-tile t being entries offsets[e] + t * h .. + h with
// h = m_tile_height<bm, kRowAlign>(count_e).
// Entry mapping: slot i works when entry i starts an m-tile of its expert.
// Tile mapping: slot s belongs to the largest expert e with f(e) = e + offsets[e] / bm <= s and
// is its m-tile t = s - f(e); f is strictly increasing and f(e) + ceil(count_e / bm) - 1 <
// f(e + 1), so every m-tile of every expert has exactly one slot, and the largest slot is below
// E + size_m / bm. Reads stay in bounds for any offsets in [0, size_m] (unsorted expert ids give
// wrong segments, never bad addresses). Called by every thread of whole warps (the tile mapping's
// search votes across the warp).
template <int kBM, int kRowAlign = 16>
__device__ __forceinline__ MTile map_m_tile(const MoeParams& p, long long slot) {
  const int m = p.size_m;
  const int experts = p.num_experts;
  const int* off = p.expert_offsets;
  MTile t{0, 0, -1};
  if (m <= 0 || experts <= 0) return t;
  if (entry_mapping(m, experts, kBM)) {
    if (slot >= m) return t;
    const int i = static_cast<int>(slot);
    const int e = p.expert_ids[i];
    if (e < 0 || e >= experts) return t;
    const int seg_begin = off[e];
    const int seg_end = min(off[e + 1], m);
    if (i < seg_begin || i >= seg_end) return t;
    const int height = m_tile_height<kBM, kRowAlign>(seg_end - seg_begin);
    if ((i - seg_begin) % height != 0) return t;
    t.begin = i;
    t.end = min(i + height, seg_end);
    t.expert = e;
    return t;
  }
  // Largest e in [0, E) with e + off[e] / kBM <= slot (lo = -1 when there is none): as f
  // increases, the number of experts with f(e) <= slot, minus one. The warp's lanes test 128
  // experts per round, their offsets loaded together, so a round costs one trip to L2 (a binary
  // search costs log2(E) dependent ones at the start of every CTA).
  const unsigned lane = threadIdx.x & 31u;
  int qualifying = 0;
  for (int base = 0; base < experts; base += 128) {
    bool below[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int e = base + 32 * j + static_cast<int>(lane);
      below[j] = e < experts && static_cast<long long>(e) + off[e] / kBM <= slot;
    }
    bool all = true;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const unsigned votes = __ballot_sync(0xFFFFFFFFu, below[j]);
      qualifying += __popc(votes);
      all = all && votes == 0xFFFFFFFFu;
    }
    if (!all) break;  // f increases: no later expert qualifies
  }
  const int lo = qualifying - 1;
  if (lo < 0) return t;
  const int seg_begin = off[lo];
  const int seg_end = min(off[lo + 1], m);
  const int count = seg_end - seg_begin;
  const long long index = slot - (static_cast<long long>(lo) + seg_begin / kBM);
  // index < 0 only when the offsets do not increase (unsorted expert ids).
  if (count <= 0 || index < 0 || index >= (count + kBM - 1) / kBM) return t;
  const int height = m_tile_height<kBM, kRowAlign>(count);
  const long long begin = seg_begin + index * height;
  if (begin >= seg_end) return t;
  t.begin = static_cast<int>(begin);
  t.end = static_cast<int>(begin + height < seg_end ? begin + height : seg_end);
  t.expert = lo;
  return t;
}

// The n-tile of this CTA: blockIdx.y, continued into blockIdx.z beyond 65535 tiles.
__device__ __forceinline__ long long n_tile_index() {
  return static_cast<long long>(blockIdx.z) * gridDim.y + blockIdx.y;
}

}  // namespace tc
}  // namespace moejit
