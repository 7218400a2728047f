// User tile tables: stamp checks (each mismatched field named), pinned tables, the preference and
// MOEJIT_TILE_TABLE precedence, and a descriptor's tile winning over every table. No compile:
// make_spec is where select picks the tile.
#include "runtime/tile_table_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "codegen/kernel_key.hpp"
#include "moejit/error.hpp"
#include "runtime/plan_checks.hpp"
#include "runtime/template_source.hpp"
#include "tests/scoped_env.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;

const GpuArch kSm90{90, false};
const Tile kTableTile{16, 32, 64, 2, 5};  // never a heuristic default

MoeDescriptor descriptor() {
  MoeDescriptor d;
  d.num_tokens = 4;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 512;
  d.d_expert = 256;
  d.variant = MoeVariant::WmmaGguf;
  d.block_format = GgufBlockFormat::Q4_0;
  d.element = ElementKind::Bf16;
  return d;
}

TileTable matching_table() {
  TileTable t;
  t.stamp.codegen_version = kCodegenVersion;
  t.stamp.template_bundle_hash = TemplateSource::current().bundle_hash();
  t.stamp.arch = "sm_90";
  t.stamp.device = "test";
  t.stamp.date = "2026-11-23T00:00:00Z";
  t.entries.push_back({MoeVariant::WmmaGguf, GgufBlockFormat::Q4_0, ElementKind::Bf16, 4, 8, 2, 256,
                       512, kTableTile, 3.0});
  return t;
}

class TileTableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("moejit_tile_table_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Each table goes to a fresh path: files are read once per path and process.
  std::string write(const TileTable& t) {
    const fs::path p = dir_ / ("table" + std::to_string(files_++) + ".json");
    std::ofstream(p) << t.to_json();
    return p.string();
  }

  std::string spec_error(const TileTable& t, const GpuArch& arch = kSm90) {
    try {
      plan_checks::make_spec(descriptor(), arch, false, write(t));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
      return e.what();
    }
    ADD_FAILURE() << "the table was accepted";
    return "";
  }

  fs::path dir_;
  int files_ = 0;
};

TEST_F(TileTableFileTest, AMatchingTableGivesItsTile) {
  EXPECT_EQ(plan_checks::make_spec(descriptor(), kSm90, false, write(matching_table())).tile,
            kTableTile);
  // sm_90a plans use sm_90 tables.
  EXPECT_EQ(
      plan_checks::make_spec(descriptor(), GpuArch{90, true}, false, write(matching_table())).tile,
      kTableTile);
}

TEST_F(TileTableFileTest, StampMismatchesAreRejectedNamingTheField) {
  TileTable t = matching_table();
  t.stamp.codegen_version = kCodegenVersion + 1;
  std::string m = spec_error(t);
  EXPECT_NE(m.find("stamp.codegen_version"), std::string::npos) << m;
  EXPECT_NE(m.find("moejit tune"), std::string::npos) << m;
  EXPECT_NE(m.find("--pin"), std::string::npos) << m;

  t = matching_table();
  t.stamp.template_bundle_hash = "0123";
  m = spec_error(t);
  EXPECT_NE(m.find("stamp.template_bundle_hash"), std::string::npos) << m;

  t = matching_table();
  m = spec_error(t, GpuArch{80, false});
  EXPECT_NE(m.find("stamp.arch is sm_90"), std::string::npos) << m;
  EXPECT_NE(m.find("sm_80"), std::string::npos) << m;
}

TEST_F(TileTableFileTest, PinnedTablesAreAcceptedButTheirTilesChecked) {
  TileTable t = matching_table();
  t.stamp.codegen_version = kCodegenVersion + 7;
  t.stamp.template_bundle_hash = "stale";
  t.stamp.arch = "sm_89";
  t.stamp.pinned = true;
  EXPECT_EQ(plan_checks::make_spec(descriptor(), kSm90, false, write(t)).tile, kTableTile);

  // An entry the plan could use with a tile its rules reject (wmma_gguf needs 3 stages).
  t.entries.push_back({MoeVariant::WmmaGguf, GgufBlockFormat::Q4_0, ElementKind::F16, 64, 8, 2, 256,
                       512, Tile{16, 32, 64, 2, 2}, 1.0});
  const std::string m = spec_error(t);
  EXPECT_NE(m.find("entries[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("16x32x64:w2:s2"), std::string::npos) << m;
  EXPECT_NE(m.find("stages=2"), std::string::npos) << m;
}

TEST_F(TileTableFileTest, UnreadableAndMalformedFilesAreErrors) {
  try {
    plan_checks::make_spec(descriptor(), kSm90, false, (dir_ / "missing.json").string());
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json' cannot be read"), std::string::npos)
        << e.what();
  }
  const fs::path bad = dir_ / "bad.json";
  std::ofstream(bad) << "{\"stamp\": 1}";
  try {
    plan_checks::make_spec(descriptor(), kSm90, false, bad.string());
    ADD_FAILURE() << "a malformed file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

TEST_F(TileTableFileTest, ADescriptorTileWinsOverEveryTable) {
  MoeDescriptor d = descriptor();
  d.tile = TileRequest{32, 64, 64, 4, 3};
  // The table is not even read: a missing file does not matter.
  EXPECT_EQ(plan_checks::make_spec(d, kSm90, false, (dir_ / "missing.json").string()).tile,
            (Tile{32, 64, 64, 4, 3}));
  EXPECT_EQ(plan_checks::make_spec(d, kSm90, false, write(matching_table())).tile,
            (Tile{32, 64, 64, 4, 3}));
}

TEST_F(TileTableFileTest, ThePreferenceOverridesTheEnvironment) {
  const Knobs knobs = [] {
    const test_support::ScopedEnv table("MOEJIT_TILE_TABLE", "/from/env.json");
    return Knobs::from_environment();
  }();
  EXPECT_EQ(knobs.tile_table, fs::path("/from/env.json"));
  EXPECT_EQ(user_tile_table_path(std::nullopt, knobs), fs::path("/from/env.json"));
  EXPECT_EQ(user_tile_table_path(std::string("/from/pref.json"), knobs),
            fs::path("/from/pref.json"));
  EXPECT_EQ(user_tile_table_path(std::nullopt, Knobs{}), std::nullopt);
}

TEST_F(TileTableFileTest, FilesAreReadOncePerPath) {
  const std::string path = write(matching_table());
  const auto first = load_tile_table_file(path);
  std::ofstream(path) << "not json any more";
  EXPECT_EQ(load_tile_table_file(path), first);
}

}  // namespace
}  // namespace moejit
