// User tile tables on disk (PlanPreference::tile_table, MOEJIT_TILE_TABLE): read once per path,
// their stamp checked against this build and the plan's target before any tile is taken.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cache/knobs.hpp"
#include "codegen/kernel_spec.hpp"
#include "codegen/tile_table.hpp"

namespace moejit {

// The table a plan consults: the preference's path, else MOEJIT_TILE_TABLE (knobs), else none.
std::optional<std::filesystem::path> user_tile_table_path(
    const std::optional<std::string>& preference, const Knobs& knobs);

// The parsed table at `path`, read on first use and kept for the process (thread-safe; a file
// edited later is not re-read). Throws Error(InvalidProblem) naming the path when it cannot be
// read or parsed.
std::shared_ptr<const TileTable> load_tile_table_file(const std::filesystem::path& path);

// Checks a table for a plan whose spec (variant, format, element, arch, compiled-in sizes) is
// `spec` (its tile is ignored). Unpinned: the stamp's codegen_version and template_bundle_hash
// must be this build's and its arch number the spec's, else Error(InvalidProblem) naming the field
// and the two values and saying to re-run `moejit tune` or pin the table. Pinned: the stamp is
// accepted, but every entry the plan could use (same variant and format, a 16-bit element for
// the tensor-core variants) must hold a valid tile for `spec` (tile_error), else
// Error(InvalidProblem) naming the entry. `source` names the table in messages.
void check_tile_table(const TileTable& table, const std::string& source, const KernelSpec& spec);

// The checked user table for a plan with `spec` (tile ignored), or nullptr when no table is set.
std::shared_ptr<const TileTable> user_tile_table(const std::optional<std::string>& preference,
                                                 const KernelSpec& spec);

}  // namespace moejit
