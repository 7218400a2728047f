// Tile table JSON (`moejit tune` output, MOEJIT_TILE_TABLE). Properties: any text either parses
// or throws Error(InvalidProblem); a parsed table's JSON parses back to the same table; lookups
// never fail and only return tiles that are valid for the asked spec; the runtime's stamp check
// either accepts the table or throws Error(InvalidProblem).
#include <cstdint>
#include <string>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/tile_table.hpp"
#include "moejit/error.hpp"
#include "runtime/tile_table_file.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using moejit::fuzz::fail;

namespace {

const GpuArch kArchs[] = {{80, false}, {86, false}, {89, false}, {90, false}, {90, true}};

void check_lookups(const TileTable& table, const std::string& json) {
  for (const TileTableEntry& e : table.entries)
    for (const GpuArch& arch : kArchs) {
      KernelSpec spec;
      spec.variant = e.variant;
      spec.format = e.format;
      spec.element = e.element;
      spec.arch = kernel_target(e.variant, arch);
      for (std::int64_t tokens : {std::int64_t{1}, e.num_tokens, std::int64_t{4096}}) {
        const std::int64_t pairs = tokens * 8;
        const ProblemDims dims{pairs, e.n,  e.k, std::max<std::int64_t>(8, e.num_experts),
                               pairs, pairs};
        const auto tile = table.nearest(e.variant, e.format, e.element, spec.arch, dims);
        if (!tile) continue;
        spec.tile = *tile;
        if (auto why = tile_error(spec))
          fail("a looked-up tile is valid for the spec", *why + "\n  table: " + json);
      }
      try {
        check_tile_table(table, "fuzz", spec);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::InvalidProblem)
          fail("tile table stamp errors are InvalidProblem", e.what());
      }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  TileTable table;
  try {
    table = TileTable::parse(text, "fuzz");
  } catch (const Error& e) {
    if (e.code() != ErrorCode::InvalidProblem)
      fail("tile table errors are InvalidProblem", e.what());
    return 0;
  }
  const std::string json = table.to_json();
  TileTable back;
  try {
    back = TileTable::parse(json, "round trip");
  } catch (const Error& e) {
    fail("a table's JSON parses back", std::string(e.what()) + "\n  json: " + json);
  }
  if (back.to_json() != json || back.entries.size() != table.entries.size())
    fail("a table's JSON reads back to the same table", json + "\n  vs\n" + back.to_json());
  check_lookups(table, json);
  return 0;
}
