// candidate_tiles: enumerates the tile space of a variant, keeps the valid tiles, ranks them by a
// few shape rules and returns the best few (with the default tile first).
#include "codegen/tile_candidates.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <tuple>

#include "codegen/arch_limits.hpp"
#include "codegen/scalar_gguf_template.hpp"
#include "codegen/tile_table.hpp"
#include "codegen/variant_templates.hpp"

namespace moejit {
namespace {

constexpr std::size_t kAlternates = 6;  // places kept for a second K step of leading shapes

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// How far log2(v) lies outside [log2(lo), log2(hi)].
double outside(double v, double lo, double hi) {
  if (v < lo) return std::log2(lo / v);
  if (v > hi) return std::log2(v / hi);
  return 0.0;
}

struct Ranked {
  Tile tile;
  double score = 0;
  int order = 0;  // enumeration order, the tie break
};

KernelSpec spec_of(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                   GpuArch arch, const Tile& t) {
  KernelSpec spec;
  spec.variant = variant;
  spec.format = format;
  spec.element = element;
  spec.arch = arch;
  spec.tile = t;
  return spec;
}

bool valid(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
           GpuArch arch, const Tile& t) {
  return !tile_error(spec_of(variant, format, element, arch, t));
}

struct Problem {
  std::int64_t pairs = 1;
  std::int64_t touched = 1;
  double rows = 1;  // per touched expert
  std::int64_t n = 1;
  std::int64_t k = 1;
  int sms = 132;
};

Problem problem_of(GpuArch arch, const ProblemDims& dims) {
  Problem p;
  p.pairs = std::max<std::int64_t>(1, dims.size_m > 0 ? dims.size_m : dims.num_pairs);
  p.touched =
      std::max<std::int64_t>(1, std::min(std::max<std::int64_t>(1, dims.num_experts), p.pairs));
  p.rows = rows_per_expert(p.pairs, dims.num_experts);
  p.n = std::max<std::int64_t>(1, dims.size_n);
  p.k = std::max<std::int64_t>(1, dims.size_k);
  p.sms = typical_sm_count(arch);
  return p;
}

// Too few CTAs for the SMs costs log2 of the shortfall.
double parallelism_penalty(std::int64_t ctas, int sms) {
  return ctas >= sms ? 0.0 : std::log2(static_cast<double>(sms) / static_cast<double>(ctas));
}

std::vector<Ranked> tensor_core_tiles(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                      ElementKind element, GpuArch arch, const Problem& p) {
  // BM: up to the first height that holds a typical segment (mean + 2 sigma), and one below.
  const double segment = p.rows + 2.0 * std::sqrt(p.rows);
  std::vector<int> bms;
  for (int bm : {16, 32, 64, 128}) {
    bms.push_back(bm);
    if (bm >= segment) break;
  }
  if (bms.size() > 2) bms.erase(bms.begin(), bms.end() - 2);
  const bool gguf = variant == MoeVariant::WmmaGguf;
  const bool k_quant = gguf && format && block_layout(*format).block_elems == 256;
  const std::vector<int> bks =
      k_quant ? std::vector<int>{64, 128, 256} : std::vector<int>{32, 64, 128};
  std::vector<Ranked> out;
  int order = 0;
  for (int bm : bms)
    for (int bn : {32, 64, 128, 256})
      for (int warps : {2, 4, 8})
        for (int bk : bks)
          for (int stages = gguf ? 3 : 2; stages <= 6; ++stages) {
            const Tile t{bm, bn, bk, warps, stages};
            ++order;
            if (!valid(variant, format, element, arch, t)) continue;
            // A 16-row tile splits N over its warps; wider than 64 columns per warp, a warp's
            // unrolled fragments only cost compile time and registers.
            if (bm == 16 && bn / warps > 64) continue;
            const std::int64_t m_tiles =
                ceil_div(static_cast<std::int64_t>(std::ceil(segment)), bm);
            const std::int64_t ctas = p.touched * m_tiles * ceil_div(p.n, bn);
            // Warp tiles: 16 x 32..64 for thin segments, up to 64 x 64 for tall ones.
            const double area = static_cast<double>(bm) * bn / warps;
            const double lo = bm >= 64 ? 2048 : bm >= 32 ? 512 : 256;
            const double hi = bm >= 64 ? 4096 : bm >= 32 ? 2048 : 1024;
            // K in flight: 256..512 elements for weight streaming.
            const double depth = static_cast<double>(bk) * (stages - 1);
            // Rows an m-tile wastes beyond the segment.
            const double waste = std::log2(std::max(1.0, bm / std::max(16.0, segment)));
            // Of equally good pipelines, the one with fewer stages leaves more shared memory.
            const double score = parallelism_penalty(ctas, p.sms) + outside(area, lo, hi) +
                                 0.5 * outside(depth, 192, 512) + 0.5 * waste + 0.02 * stages;
            out.push_back({t, score, order});
          }
  return out;
}

// Warpgroup-MMA tiles of the tensor-core variants on sm_90a (BM a multiple of 64; BK 64 for
// wmma, 64..256 for wmma_gguf), numbered after `first_order`.
std::vector<Ranked> wgmma_tiles(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                ElementKind element, GpuArch arch, const Problem& p,
                                int first_order) {
  const double segment = p.rows + 2.0 * std::sqrt(p.rows);
  const std::vector<int> bks =
      variant == MoeVariant::WmmaGguf ? std::vector<int>{64, 128, 256} : std::vector<int>{64};
  std::vector<Ranked> out;
  int order = first_order;
  for (int bm : {64, 128, 192})
    for (int bn : {64, 128, 256})
      for (int warps : {4, 8, 12})
        for (int bk : bks)
          for (int stages = 3; stages <= 8; ++stages) {
            const Tile t{bm, bn, bk, warps, stages};
            ++order;
            const KernelSpec spec = spec_of(variant, format, element, arch, t);
            if (tile_error(spec) || !wmma_codegen::uses_wgmma(spec)) continue;
            // m-tile heights are whole warpgroups of 64 rows.
            const std::int64_t m_tiles =
                ceil_div(static_cast<std::int64_t>(std::ceil(segment)), bm);
            const std::int64_t ctas = p.touched * m_tiles * ceil_div(p.n, bn);
            const double waste = std::log2(std::max(1.0, bm / std::max(64.0, segment)));
            // 128..384 K elements per row in flight ahead of the MMAs (stages - 2 steps).
            const double depth = static_cast<double>(bk) * (stages - 2);
            const double score = parallelism_penalty(ctas, p.sms) + waste +
                                 0.5 * outside(depth, 128, 384) + 0.02 * stages;
            out.push_back({t, score, order});
          }
  return out;
}

// Tiles of the dense decode kernel (1 stage, wmma_decode.cuh), numbered after `first_order`:
// 8 or 16 entries, 16 to 128 rows, K blocks of 64 or 128; about 1536 to 8192 warps in all.
std::vector<Ranked> decode_tiles(ElementKind element, GpuArch arch, const Problem& p,
                                 int first_order) {
  const double segment = p.rows + 2.0 * std::sqrt(p.rows);
  std::vector<Ranked> out;
  int order = first_order;
  for (int bm : {8, 16})
    for (int bn : {16, 32, 64, 128})
      for (int warps : {4, 8})
        for (int bk : {128, 64}) {
          const Tile t{bm, bn, bk, warps, 1};
          ++order;
          if (!valid(MoeVariant::Wmma, std::nullopt, element, arch, t)) continue;
          const std::int64_t m_tiles = ceil_div(static_cast<std::int64_t>(std::ceil(segment)), bm);
          const double total_warps = static_cast<double>(p.touched * m_tiles * ceil_div(p.n, bn)) *
                                     static_cast<double>(warps);
          const double waste = std::log2(std::max(1.0, bm / std::max(8.0, segment)));
          const double score =
              outside(total_warps, 1536, 8192) + waste + 0.25 * std::log2(128.0 / bk);
          out.push_back({t, score, order});
        }
  return out;
}

std::vector<Ranked> scalar_tiles(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                 ElementKind element, GpuArch arch, const Problem& p) {
  const double target_bm = p.rows >= 4 ? 4 : p.rows >= 2 ? 2 : 1;
  // The staged twin of each shape: K segments of 32 chunks (a chunk per lane), in whole 16-byte
  // words, no longer than K needs; two in flight per warp when K holds two.
  int staged_bk = 0, staged_stages = 1;
  if (format) {
    const int step = scalar_gguf_codegen::staged_bk_step(*format);
    const int per_lane = scalar_gguf_codegen::chunk_elems(*format);
    const std::int64_t k_words = ceil_div(p.k, step) * step;
    staged_bk =
        static_cast<int>(std::min<std::int64_t>(ceil_div(32 * per_lane, step) * step, k_words));
    staged_stages = p.k > staged_bk ? 2 : 1;
  }
  std::vector<Ranked> out;
  int order = 0;
  for (int bm : {1, 2, 4, 8})
    for (int bn : {4, 8, 16, 32})
      for (int warps : {2, 4, 8}) {
        const Tile t{bm, bn, 0, warps, 1};
        ++order;
        if (!valid(variant, format, element, arch, t)) continue;
        const std::int64_t ctas = ceil_div(p.pairs, bm) * ceil_div(p.n, bn);
        const double cols = static_cast<double>(bn) / warps;
        const double score = parallelism_penalty(ctas, 4 * p.sms) +
                             0.5 * std::abs(std::log2(bm / target_bm)) + 0.5 * outside(cols, 1, 4) +
                             0.25 * std::abs(std::log2(warps / 4.0));
        out.push_back({t, score, order});
        const Tile staged{bm, bn, staged_bk, warps, staged_stages};
        if (staged_bk > 0 && valid(variant, format, element, arch, staged))
          out.push_back({staged, score + 0.01, order + 100000});
      }
  // Int8 tensor-core tiles once experts receive 8 or more entries each: windows of 16 to 64
  // entries not much above the entries per touched expert, ranked ahead of the dp4a tiles.
  if (p.rows >= 8.0) {
    const double lead = 1.0;
    for (int bm : {16, 32, 64})
      for (int bn : {64, 128})
        for (int warps : {4, 8})
          for (int bk : {128, 256})
            for (int stages : {3, 4}) {
              const Tile t{bm, bn, bk, warps, stages};
              ++order;
              if (!valid(variant, format, element, arch, t)) continue;
              const std::int64_t ctas = ceil_div(p.pairs, bm) * ceil_div(p.n, bn);
              const double waste = std::log2(std::max(1.0, bm / std::max(16.0, p.rows)));
              const double score = parallelism_penalty(ctas, p.sms) + waste - lead +
                                   0.25 * std::abs(std::log2(bk / 128.0)) + 0.02 * stages;
              out.push_back({t, score, order + 200000});
            }
  }
  return out;
}

}  // namespace

std::vector<Tile> candidate_tiles(MoeVariant variant, std::optional<GgufBlockFormat> format,
                                  ElementKind element, GpuArch arch, const ProblemDims& dims) {
  const Problem p = problem_of(arch, dims);
  const bool is_prefill = p.rows > 16.0;
  std::vector<Tile> out;
  const auto add = [&](const Tile& t) {
    if (out.size() < kMaxTileCandidates && std::find(out.begin(), out.end(), t) == out.end() &&
        valid(variant, format, element, arch, t))
      out.push_back(t);
  };
  // The default tiles of both tile families (the caller's is_prefill is not known here).
  for (const bool prefill : {is_prefill, !is_prefill}) {
    add(default_tile(variant, format, element, arch, dims, prefill));
    add(heuristic_tile(variant, format, element, arch, dims, prefill));
  }
  // The first default tile one pipeline stage deeper and one shallower: the best depth moves with
  // what a K step costs, so a tile kept from an earlier table is timed at its neighbours too.
  // Tensor-core tiles of three or more stages only, so that no neighbour crosses into or out of
  // the one-stage decode family.
  if (variant != MoeVariant::ScalarGguf && !out.empty() && out.front().stages >= 3) {
    const Tile first = out.front();
    for (const int delta : {1, -1}) {
      Tile t = first;
      t.stages += delta;
      add(t);
    }
  }
  // sm_90a: dense wmma times warpgroup tiles only; wmma_gguf both families (its decode tiles
  // stay on mma.sync).
  const bool wgmma = variant != MoeVariant::ScalarGguf && has_warpgroup_mma(arch);
  // The formats of rw tiles on sm_90a: register-weight tiles whose m-tile holds a typical
  // segment (mean + 2 sigma, rounded up to 32 entries, 32 to 192), one, two and three warpgroups.
  if (wgmma && variant == MoeVariant::WmmaGguf && format && has_register_weight_tiles(*format)) {
    const double typical = p.rows + 2.0 * std::sqrt(p.rows);
    const int bm = static_cast<int>(std::min<std::int64_t>(
        192, std::max<std::int64_t>(
                 32, ceil_div(static_cast<std::int64_t>(std::ceil(typical)), 32) * 32)));
    for (const Tile& t : {Tile{bm, 128, 64, 8, 4, true}, Tile{bm, 64, 64, 4, 4, true},
                          Tile{bm, 128, 64, 8, 3, true}, Tile{bm, 192, 64, 12, 4, true}})
      add(t);
  }
  std::vector<Ranked> ranked;
  if (variant == MoeVariant::ScalarGguf)
    ranked = scalar_tiles(variant, format, element, arch, p);
  else if (!wgmma || variant == MoeVariant::WmmaGguf)
    ranked = tensor_core_tiles(variant, format, element, arch, p);
  if (wgmma) {
    const std::vector<Ranked> more =
        wgmma_tiles(variant, format, element, arch, p, static_cast<int>(ranked.size()) + 100000);
    ranked.insert(ranked.end(), more.begin(), more.end());
  }
  // A few entries per expert: the dense decode kernel's tiles too.
  if (variant == MoeVariant::Wmma && p.rows <= 4.0) {
    const std::vector<Ranked> more = decode_tiles(element, arch, p, 200000);
    ranked.insert(ranked.end(), more.begin(), more.end());
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return a.score != b.score ? a.score < b.score : a.order < b.order;
  });
  // First the best tile of each CTA shape (bm, bn, warps), best shapes first; then, for the
  // leading shapes, their next-best tile with another K step (the pipeline depth varies).
  std::map<std::tuple<int, int, int>, std::vector<Tile>> by_shape;
  std::vector<std::tuple<int, int, int>> shape_order;
  for (const Ranked& r : ranked) {
    const auto key = std::make_tuple(r.tile.bm, r.tile.bn, r.tile.warps);
    auto& list = by_shape[key];
    if (list.empty()) shape_order.push_back(key);
    list.push_back(r.tile);
  }
  const std::size_t shapes = std::min(shape_order.size(), kMaxTileCandidates - kAlternates);
  for (std::size_t i = 0; i < shapes; ++i) add(by_shape[shape_order[i]].front());
  for (std::size_t i = 0; i < shape_order.size() && out.size() < kMaxTileCandidates; ++i) {
    const std::vector<Tile>& list = by_shape[shape_order[i]];
    const auto other = std::find_if(list.begin(), list.end(),
                                    [&](const Tile& t) { return t.bk != list.front().bk; });
    if (other != list.end()) add(*other);
  }
  return out;
}

}  // namespace moejit
