// Reading user tile tables once per path and checking their stamps against this build.
#include "runtime/tile_table_file.hpp"

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "moejit/error.hpp"
#include "runtime/template_source.hpp"

namespace moejit {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidProblem, message);
}

std::string stamp_advice(const std::string& source) {
  return ". Re-run `moejit tune` on this build to regenerate it, or, to keep these tiles anyway, "
         "pin it with `moejit tune --pin` (or set \"pinned\": true in its stamp): " +
         source;
}

}  // namespace

std::optional<std::filesystem::path> user_tile_table_path(
    const std::optional<std::string>& preference, const Knobs& knobs) {
  if (preference) return std::filesystem::path(*preference);
  return knobs.tile_table;
}

std::shared_ptr<const TileTable> load_tile_table_file(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TileTable>> tables;
  const std::string key = path.lexically_normal().string();
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = tables.find(key); it != tables.end()) return it->second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    invalid("tile table '" + path.string() +
            "' cannot be read (PlanPreference::tile_table or MOEJIT_TILE_TABLE): check the path");
  std::ostringstream text;
  text << in.rdbuf();
  auto table = std::make_shared<const TileTable>(TileTable::parse(text.str(), path.string()));
  std::lock_guard<std::mutex> lock(mutex);
  return tables.emplace(key, std::move(table)).first->second;
}

void check_tile_table(const TileTable& table, const std::string& source, const KernelSpec& spec) {
  const TileTableStamp& s = table.stamp;
  const std::string where = "tile table '" + source + "'";
  if (s.schema != kTileTableSchema)
    invalid(where + ": stamp.schema is " + std::to_string(s.schema) + ", this build reads " +
            std::to_string(kTileTableSchema) + stamp_advice(source));
  if (!s.pinned) {
    if (s.codegen_version != kCodegenVersion)
      invalid(where + ": stamp.codegen_version is " + std::to_string(s.codegen_version) +
              ", but this build's code generator is version " + std::to_string(kCodegenVersion) +
              stamp_advice(source));
    const std::string& bundle = TemplateSource::current().bundle_hash();
    if (s.template_bundle_hash != bundle)
      invalid(where + ": stamp.template_bundle_hash is " + s.template_bundle_hash +
              ", but this build's templates hash to " + bundle + stamp_advice(source));
    const auto arch = parse_arch(s.arch);
    if (!arch || arch->sm != spec.arch.sm)
      invalid(where + ": stamp.arch is " + s.arch + ", but the plan targets " +
              spec.arch.to_string() + stamp_advice(source));
    return;
  }
  for (std::size_t i = 0; i < table.entries.size(); ++i) {
    const TileTableEntry& e = table.entries[i];
    if (e.variant != spec.variant || e.format != spec.format) continue;
    if (e.element != spec.element && spec.variant == MoeVariant::ScalarGguf) continue;
    KernelSpec probe = spec;
    probe.tile = e.tile;
    if (const auto why = tile_error(probe))
      invalid(where + " (pinned): entries[" + std::to_string(i) + "] tile " +
              tile_table_text(e.tile) + " cannot be used for " + kernel_key_text(probe) + ": " +
              *why + ". Fix or remove that entry");
  }
}

std::shared_ptr<const TileTable> user_tile_table(const std::optional<std::string>& preference,
                                                 const KernelSpec& spec) {
  const auto path = user_tile_table_path(preference, Knobs::get());
  if (!path) return nullptr;
  auto table = load_tile_table_file(*path);
  check_tile_table(*table, path->string(), spec);
  return table;
}

}  // namespace moejit
