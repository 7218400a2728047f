// Tile tables: measured best tiles per problem point (written by `moejit tune`), read from JSON,
// looked up deterministically, and the per-architecture tables shipped inside the library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/kernel_spec.hpp"
#include "codegen/kernel_template.hpp"

namespace moejit {

// The best tile measured for one problem point.
struct TileTableEntry {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;  // GGUF variants only
  ElementKind element = ElementKind::F16;
  std::int64_t num_tokens = 0;
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t n = 0;  // d_expert
  std::int64_t k = 0;  // d_model
  Tile tile;
  double us = 0;  // measured median in microseconds (informational)
};

// Where a table comes from. A table is only trusted for the code it was measured with: the
// runtime compares codegen_version, template_bundle_hash and arch with its own unless pinned.
struct TileTableStamp {
  int schema = 1;
  int codegen_version = 0;
  std::string template_bundle_hash;
  std::string arch;     // "sm_90"
  std::string device;   // "NVIDIA H100 80GB HBM3"
  std::string date;     // UTC, "2026-11-23T01:02:03Z"
  bool pinned = false;  // accepted by the runtime even when the stamp no longer matches
};

inline constexpr int kTileTableSchema = 1;

struct TileTable {
  TileTableStamp stamp;
  std::vector<TileTableEntry> entries;

  // Reads a table. Throws Error(InvalidProblem) naming source_name and the bad field (JSON that
  // does not parse, a missing or mistyped field, an unknown variant, format or element, a tile
  // that is not BMxBNxBK:wW:sS, an unknown schema).
  static TileTable parse(std::string_view json_text, std::string_view source_name);

  // Pretty JSON, one entry per line, fields in a fixed order; parse(to_json()) gives the table
  // back.
  std::string to_json() const;

  // Whether the stamp's architecture has the same number as `arch` (sm_90 serves sm_90a).
  bool serves(const GpuArch& arch) const;

  // The tile of the nearest entry when serves(arch), else nullopt. Among entries of the same
  // variant and format whose tile is valid for the asked spec (tile_error): those of the same
  // element, else of the other 16-bit element (f16 <-> bf16); the one nearest in rows per touched
  // expert (P / min(E, P), log2 distance), ties broken by the log2 distance of N * K, then of
  // the pair count P, then by file order. Deterministic.
  std::optional<Tile> lookup(MoeVariant variant, std::optional<GgufBlockFormat> format,
                             ElementKind element, GpuArch arch, const ProblemDims& dims) const;

  // lookup without the architecture check (for pinned tables measured on another target).
  std::optional<Tile> nearest(MoeVariant variant, std::optional<GgufBlockFormat> format,
                              ElementKind element, GpuArch arch, const ProblemDims& dims) const;
};

// "64x64x32:w4:s3"; parse_tile_text reads it back (nullopt when malformed).
std::string tile_table_text(const Tile& tile);
std::optional<Tile> parse_tile_text(std::string_view text);

// Rows per touched expert of P pairs over E experts: P / min(E, P), at least 1.
double rows_per_expert(std::int64_t pairs, std::int64_t experts);

// The table shipped for an architecture number (codegen/tile_tables/sm_NN.json, embedded at build
// time), or nullptr when none was shipped.
const TileTable* shipped_tile_table(GpuArch arch);

// The shipped tables' sources as embedded (file name, JSON text), for tests and tools.
struct ShippedTileTableFile {
  std::string_view name;  // "sm_90.json"
  std::string_view text;
};
std::vector<ShippedTileTableFile> shipped_tile_table_files();

// default_tile (codegen/kernel_template.hpp) with a user table consulted first: the user table's
// tile when it has one for the problem (a pinned table serves any architecture, an unpinned one
// only its own), else the shipped table's, else heuristic_tile. user_table may be null.
Tile default_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                  GpuArch arch, const ProblemDims& dims, bool is_prefill,
                  const TileTable* user_table);

// The built-in heuristics alone (no table): the variant's default_tile rules.
Tile heuristic_tile(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element,
                    GpuArch arch, const ProblemDims& dims, bool is_prefill);

}  // namespace moejit
