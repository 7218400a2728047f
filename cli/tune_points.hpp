// What `moejit tune` measures: kernel families, model shapes and token counts crossed into
// problem points, each point's descriptor, and how new table entries merge with an old table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/precompile_jobs.hpp"
#include "codegen/tile_table.hpp"
#include "moejit/moe_plan.hpp"

namespace moejit::cli {

struct TuneFamily {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;
  ElementKind element = ElementKind::F16;
};

struct TunePoint {
  TuneFamily family;
  ModelShape shape;  // N = shape.d_ff, K = shape.d_model
  int tokens = 1;
};

// The shapes of --preset tracked (docs/benchmarks.md): qwen3-30b-a3b (E 128, top_k 8, N 768,
// K 2048) and mixtral-8x7b (E 8, top_k 2, N 14336, K 4096). Throws BadValue for another name.
std::vector<ModelShape> tune_preset(const std::string& name);

// The families of the given variants, formats and element types. With no element types given:
// scalar_gguf f32, wmma_gguf bf16, wmma f16 and bf16 (the tracked set).
std::vector<TuneFamily> tune_families(const std::vector<MoeVariant>& variants,
                                      const std::vector<GgufBlockFormat>& formats,
                                      const std::optional<std::vector<ElementKind>>& elements);

// Every shape x family x token count, in that nesting order (the points of one shape and family
// are adjacent, so they can share one set of random weights).
std::vector<TunePoint> tune_points(const std::vector<ModelShape>& shapes,
                                   const std::vector<int>& tokens,
                                   const std::vector<TuneFamily>& families);

// The descriptor of a point: top-k weights given, the decode tile family up to 64 tokens.
MoeDescriptor tune_descriptor(const TunePoint& point);

// "wmma_gguf:q4_k:bf16 T=8 E=128 top_k=8 N=768 K=2048".
std::string point_text(const TunePoint& point);

// The table entry of a point with the given tile and time.
TileTableEntry point_entry(const TunePoint& point, const Tile& tile, double us = 0);

// Whether an entry was measured for the same point.
bool same_point(const TileTableEntry& a, const TileTableEntry& b);

// `fresh` after the entries of `old` whose points `fresh` does not hold (old order kept).
std::vector<TileTableEntry> merge_entries(const std::vector<TileTableEntry>& old,
                                          const std::vector<TileTableEntry>& fresh);

}  // namespace moejit::cli
