// MoePlan::select with a user tile table compiles the table's tile (no GPU: PlanPreference::arch),
// and a descriptor's tile still wins over it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "codegen/kernel_key.hpp"
#include "codegen/tile_table.hpp"
#include "moejit/moe_plan.hpp"
#include "runtime/template_source.hpp"
#include "tests/compiler/compiler_test_util.hpp"

namespace moejit {
namespace {

class CacheEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { setenv("MOEJIT_CACHE_DIR", MOEJIT_BINARY_DIR "/test-cache", 0); }
};

[[maybe_unused]] const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new CacheEnvironment);

TEST(TileTableSelect, TheTablesTileIsCompiledAndADescriptorTileWins) {
  test::TempDir dir;
  TileTable t;
  t.stamp.codegen_version = kCodegenVersion;
  t.stamp.template_bundle_hash = TemplateSource::current().bundle_hash();
  t.stamp.arch = "sm_90";
  t.entries.push_back({MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32, 4, 8, 2,
                       256, 512, Tile{2, 16, 0, 4, 1}, 5.0});
  const auto path = dir.path() / "sm_90.json";
  test::write_file(path, t.to_json());

  MoeDescriptor d;
  d.num_tokens = 4;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 512;
  d.d_expert = 256;
  d.variant = MoeVariant::ScalarGguf;
  d.block_format = GgufBlockFormat::Q8_0;
  d.element = ElementKind::F32;
  PlanPreference pref;
  pref.arch = "sm_90a";
  pref.tile_table = path.string();
  EXPECT_EQ(MoePlan::select(d, pref).sku(), "scalar_gguf:q8_0:f32:sm_90a:2x16x0:w4:s1");

  d.tile = TileRequest{1, 8, 0, 2, 1};
  EXPECT_EQ(MoePlan::select(d, pref).sku(), "scalar_gguf:q8_0:f32:sm_90a:1x8x0:w2:s1");
}

}  // namespace
}  // namespace moejit
