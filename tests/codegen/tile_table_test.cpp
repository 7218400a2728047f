// Tile tables: parse errors, the JSON round trip, the nearest-entry lookup rules, and the shipped
// tables' validity.
#include "codegen/tile_table.hpp"

#include <gtest/gtest.h>

#include "codegen/arch_limits.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

const char* kStamp =
    R"("stamp": {"schema": 1, "codegen_version": 1, "template_bundle_hash": "abc",
                 "arch": "sm_90", "device": "test", "date": "2026-01-01T00:00:00Z"})";

std::string table_json(const std::string& entries) {
  return std::string("{") + kStamp + ", \"entries\": [" + entries + "]}";
}

std::string entry(const std::string& variant, const std::string& format, const std::string& el,
                  int tokens, int experts, int top_k, int n, int k, const std::string& tile) {
  std::string s = "{\"variant\": \"" + variant + "\", ";
  if (!format.empty()) s += "\"format\": \"" + format + "\", ";
  return s + "\"element\": \"" + el + "\", \"num_tokens\": " + std::to_string(tokens) +
         ", \"num_experts\": " + std::to_string(experts) + ", \"top_k\": " + std::to_string(top_k) +
         ", \"n\": " + std::to_string(n) + ", \"k\": " + std::to_string(k) + ", \"tile\": \"" +
         tile + "\", \"us\": 1.5}";
}

std::string parse_error(const std::string& json) {
  try {
    TileTable::parse(json, "my.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    return e.what();
  }
  ADD_FAILURE() << "parsed: " << json;
  return "";
}

ProblemDims dims_of(std::int64_t tokens, std::int64_t experts, std::int64_t top_k, std::int64_t n,
                    std::int64_t k) {
  ProblemDims d;
  d.num_pairs = tokens * top_k;
  d.size_m = d.num_pairs;
  d.input_rows = d.num_pairs;
  d.num_experts = experts;
  d.size_n = n;
  d.size_k = k;
  return d;
}

const GpuArch kSm90{90, false};

TEST(TileTableParse, ReportsBadJsonMissingFieldsAndBadTiles) {
  std::string m = parse_error("{ not json");
  EXPECT_NE(m.find("my.json"), std::string::npos) << m;
  EXPECT_NE(m.find("does not parse"), std::string::npos) << m;

  m = parse_error("{\"entries\": []}");
  EXPECT_NE(m.find("stamp is missing"), std::string::npos) << m;

  m = parse_error(table_json("{\"variant\": \"wmma\", \"element\": \"f16\"}"));
  EXPECT_NE(m.find("entries[0].num_tokens is missing"), std::string::npos) << m;

  m = parse_error(table_json(entry("wmma", "", "f16", 1, 8, 2, 64, 64, "64x64x32") + "," +
                             entry("wmma", "", "f16", 1, 8, 2, 64, 64, "64x64")));
  EXPECT_NE(m.find("entries[0].tile"), std::string::npos) << m;
  EXPECT_NE(m.find("BMxBNxBK:wW:sS"), std::string::npos) << m;

  m = parse_error(table_json(entry("wmma_gguf", "", "f16", 1, 8, 2, 64, 64, "64x64x32:w4:s3")));
  EXPECT_NE(m.find("entries[0].format is missing"), std::string::npos) << m;

  m = parse_error(table_json(entry("wmma", "q4_0", "f16", 1, 8, 2, 64, 64, "64x64x32:w4:s3")));
  EXPECT_NE(m.find("entries[0].format"), std::string::npos) << m;

  m = parse_error(table_json(entry("wmma", "", "f64", 1, 8, 2, 64, 64, "64x64x32:w4:s3")));
  EXPECT_NE(m.find("entries[0].element"), std::string::npos) << m;

  m = parse_error(table_json(entry("wmma", "", "f16", 1, 8, 9, 64, 64, "64x64x32:w4:s3")));
  EXPECT_NE(m.find("entries[0].top_k"), std::string::npos) << m;

  std::string bad_schema = table_json("");
  bad_schema.replace(bad_schema.find("\"schema\": 1"), 11, "\"schema\": 7");
  m = parse_error(bad_schema);
  EXPECT_NE(m.find("stamp.schema"), std::string::npos) << m;

  std::string bad_arch = table_json("");
  bad_arch.replace(bad_arch.find("sm_90"), 5, "sm_75");
  m = parse_error(bad_arch);
  EXPECT_NE(m.find("stamp.arch"), std::string::npos) << m;
}

TEST(TileTableParse, RefusesSizesPastTheInt32LimitsAndNumbersPastDouble) {
  std::string huge = table_json(entry("wmma", "", "f16", 1, 8, 2, 64, 64, "64x64x32:w4:s3"));
  huge.replace(huge.find("\"num_tokens\": 1,"), 16, "\"num_tokens\": 4611686018427387904,");
  std::string m = parse_error(huge);
  EXPECT_NE(m.find("num_tokens must be at most 2147483647"), std::string::npos) << m;
  m = parse_error(table_json(entry("wmma", "", "f16", 2000000000, 8, 2, 64, 64, "64x64x32:w4:s3")));
  EXPECT_NE(m.find("entries[0].num_tokens * top_k"), std::string::npos) << m;
  m = parse_error(table_json("{\"variant\": 1e999}"));
  EXPECT_NE(m.find("does not parse"), std::string::npos) << m;
}

TEST(TileTableParse, TileText) {
  EXPECT_EQ(parse_tile_text("64x128x32:w8:s4"), (Tile{64, 128, 32, 8, 4}));
  EXPECT_EQ(parse_tile_text("2x8x0:w4:s1"), (Tile{2, 8, 0, 4, 1}));
  EXPECT_EQ(tile_table_text(Tile{16, 32, 64, 2, 3}), "16x32x64:w2:s3");
  EXPECT_EQ(parse_tile_text("64x128x64:w8:s4:rw"), (Tile{64, 128, 64, 8, 4, true}));
  EXPECT_EQ(tile_table_text(Tile{64, 128, 64, 8, 4, true}), "64x128x64:w8:s4:rw");
  for (const char* bad : {"", "64x64x32", "64x64:w4:s3", "64x64x32:w4", "64x64x32:4:s3",
                          "64x64x32:w4:s3:x", "ax64x32:w4:s3", "64x64x-1:w4:s3", "64x64x32:w:s3",
                          ":rw", "64x64x32:w4:rw", "64x64x32:w4:s3:rw:rw", "64x64x32:w4:s3rw"})
    EXPECT_FALSE(parse_tile_text(bad)) << bad;
}

TEST(TileTableJson, HugeTimesRoundTrip) {
  std::string json = table_json(entry("wmma", "", "f16", 1, 8, 2, 64, 64, "64x64x32:w4:s3"));
  json.replace(json.find("\"us\": 1.5"), 9, "\"us\": 1e306");
  const TileTable table = TileTable::parse(json, "huge");
  const TileTable back = TileTable::parse(table.to_json(), "round trip");
  ASSERT_EQ(back.entries.size(), 1u);
  EXPECT_EQ(back.entries[0].us, 1e306);
}

TEST(TileTableJson, RoundTrips) {
  TileTable t;
  t.stamp.codegen_version = 3;
  t.stamp.template_bundle_hash = "deadbeef";
  t.stamp.arch = "sm_90a";
  t.stamp.device = "NVIDIA H100";
  t.stamp.date = "2026-11-23T00:00:00Z";
  t.stamp.pinned = true;
  t.entries.push_back({MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, 8, 128, 8,
                       768, 2048, Tile{16, 64, 64, 4, 3}, 12.25});
  t.entries.push_back({MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32, 1, 8, 2,
                       14336, 4096, Tile{2, 8, 0, 4, 1}, 30.5});
  t.entries.push_back({MoeVariant::Wmma, std::nullopt, ElementKind::F16, 512, 8, 2, 14336, 4096,
                       Tile{128, 128, 64, 8, 3}, 800});
  const std::string text = t.to_json();
  const TileTable back = TileTable::parse(text, "round trip");
  EXPECT_EQ(back.stamp.codegen_version, 3);
  EXPECT_EQ(back.stamp.template_bundle_hash, "deadbeef");
  EXPECT_EQ(back.stamp.arch, "sm_90a");
  EXPECT_EQ(back.stamp.device, "NVIDIA H100");
  EXPECT_EQ(back.stamp.date, "2026-11-23T00:00:00Z");
  EXPECT_TRUE(back.stamp.pinned);
  ASSERT_EQ(back.entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.entries[i].variant, t.entries[i].variant);
    EXPECT_EQ(back.entries[i].format, t.entries[i].format);
    EXPECT_EQ(back.entries[i].element, t.entries[i].element);
    EXPECT_EQ(back.entries[i].num_tokens, t.entries[i].num_tokens);
    EXPECT_EQ(back.entries[i].num_experts, t.entries[i].num_experts);
    EXPECT_EQ(back.entries[i].top_k, t.entries[i].top_k);
    EXPECT_EQ(back.entries[i].n, t.entries[i].n);
    EXPECT_EQ(back.entries[i].k, t.entries[i].k);
    EXPECT_EQ(back.entries[i].tile, t.entries[i].tile);
    EXPECT_DOUBLE_EQ(back.entries[i].us, t.entries[i].us);
  }
  EXPECT_EQ(back.to_json(), text);  // stable
  // One entry per line.
  EXPECT_NE(text.find("\n    {\"variant\":\"wmma_gguf\""), std::string::npos) << text;
  TileTable empty;
  empty.stamp.arch = "sm_80";
  EXPECT_TRUE(TileTable::parse(empty.to_json(), "empty").entries.empty());
}

TileTable lookup_table() {
  return TileTable::parse(
      table_json(
          // qwen3-like decode (1 row per expert), mixtral-like prefill (128 rows per expert).
          entry("wmma_gguf", "q4_k", "bf16", 1, 128, 8, 768, 2048, "16x32x64:w2:s3") + "," +
          entry("wmma_gguf", "q4_k", "bf16", 512, 8, 2, 14336, 4096, "128x64x64:w8:s3") + "," +
          entry("wmma_gguf", "q4_k", "bf16", 32, 8, 2, 14336, 4096, "16x64x64:w4:s4") + "," +
          entry("wmma_gguf", "q4_k", "bf16", 32, 128, 8, 768, 2048, "16x64x128:w4:s3") + "," +
          entry("wmma_gguf", "q4_k", "bf16", 32, 128, 8, 768, 2048, "16x128x64:w4:s3") + "," +
          entry("wmma", "", "f16", 8, 8, 2, 4096, 4096, "16x64x128:w4:s4") + "," +
          // Invalid on every arch (BM not a multiple of 16): always skipped.
          entry("wmma", "", "f16", 1, 8, 2, 4096, 4096, "24x64x128:w4:s4")),
      "lookup");
}

TEST(TileTableLookup, NearestRowsThenNkThenPairsThenFileOrder) {
  const TileTable t = lookup_table();
  const auto q4k = GgufBlockFormat::Q4_K;
  // 1 token over 128 experts: 1 row per expert -> the 1-token entry.
  EXPECT_EQ(
      t.lookup(MoeVariant::WmmaGguf, q4k, ElementKind::Bf16, kSm90, dims_of(1, 128, 8, 768, 2048)),
      (Tile{16, 32, 64, 2, 3}));
  // 256 tokens on 8 experts top-2: 64 rows per expert -> nearer 128 (log2 1) than 8 (log2 3).
  EXPECT_EQ(t.lookup(MoeVariant::WmmaGguf, q4k, ElementKind::Bf16, kSm90,
                     dims_of(256, 8, 2, 14336, 4096)),
            (Tile{128, 64, 64, 8, 3}));
  // 2 rows per expert: 32 tokens on 128 experts top-8 (2 rows) and 32 on 8 top-2 (8 rows) are
  // candidates; the former is exact. Of its two equal entries the first in the file wins.
  EXPECT_EQ(
      t.lookup(MoeVariant::WmmaGguf, q4k, ElementKind::Bf16, kSm90, dims_of(32, 128, 8, 768, 2048)),
      (Tile{16, 64, 128, 4, 3}));
  // 4 rows per expert: the 2-row and 8-row entries tie on rows (log2 1 each) and N * K decides:
  // the mixtral-sized problem gets the mixtral entry, the qwen3-sized one the qwen3 entry.
  EXPECT_EQ(
      t.lookup(MoeVariant::WmmaGguf, q4k, ElementKind::Bf16, kSm90, dims_of(16, 8, 2, 14336, 4096)),
      (Tile{16, 64, 64, 4, 4}));
  EXPECT_EQ(
      t.lookup(MoeVariant::WmmaGguf, q4k, ElementKind::Bf16, kSm90, dims_of(16, 8, 2, 768, 2048)),
      (Tile{16, 64, 128, 4, 3}));
  // Other format, other variant with no entries: nothing.
  EXPECT_FALSE(t.lookup(MoeVariant::WmmaGguf, GgufBlockFormat::Q6_K, ElementKind::Bf16, kSm90,
                        dims_of(1, 128, 8, 768, 2048)));
  EXPECT_FALSE(t.lookup(MoeVariant::ScalarGguf, q4k, ElementKind::F32, kSm90,
                        dims_of(1, 128, 8, 768, 2048)));
}

TEST(TileTableLookup, PairCountSeparatesEqualRowsPerExpert) {
  // qwen3 at 1 and at 8 tokens: 8 and 64 pairs over 128 experts, one row per touched expert and
  // the same N * K; each point gets its own entry whatever the file order.
  for (bool t8_first : {false, true}) {
    const std::string t1 =
        entry("scalar_gguf", "q4_k", "f32", 1, 128, 8, 768, 2048, "1x16x0:w8:s1");
    const std::string t8 = entry("scalar_gguf", "q4_k", "f32", 8, 128, 8, 768, 2048, "1x4x0:w2:s1");
    const TileTable t =
        TileTable::parse(table_json(t8_first ? t8 + "," + t1 : t1 + "," + t8), "pairs");
    EXPECT_EQ(t.lookup(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32, kSm90,
                       dims_of(1, 128, 8, 768, 2048)),
              (Tile{1, 16, 0, 8, 1}));
    EXPECT_EQ(t.lookup(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32, kSm90,
                       dims_of(8, 128, 8, 768, 2048)),
              (Tile{1, 4, 0, 2, 1}));
  }
}

TEST(TileTableLookup, IsDeterministic) {
  const TileTable a = lookup_table();
  const TileTable b = TileTable::parse(a.to_json(), "copy");
  for (int tokens : {1, 2, 3, 8, 32, 100, 128, 512, 4096})
    for (int experts : {8, 128}) {
      const ProblemDims d = dims_of(tokens, experts, 2, 4096, 4096);
      const auto first =
          a.lookup(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, kSm90, d);
      for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(first, a.lookup(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                                  kSm90, d));
        EXPECT_EQ(first, b.lookup(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                                  kSm90, d));
      }
      EXPECT_TRUE(first.has_value());
    }
}

TEST(TileTableLookup, FallsBackToTheOther16BitElement) {
  const TileTable t = lookup_table();
  // No f16 q4_k entries: the bf16 ones serve f16.
  EXPECT_EQ(t.lookup(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::F16, kSm90,
                     dims_of(1, 128, 8, 768, 2048)),
            (Tile{16, 32, 64, 2, 3}));
  // wmma has an f16 entry only: bf16 uses it; f32 never falls back.
  EXPECT_EQ(t.lookup(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, kSm90,
                     dims_of(8, 8, 2, 4096, 4096)),
            (Tile{16, 64, 128, 4, 4}));
  // The same element is preferred even when the other one is nearer.
  const TileTable mixed = TileTable::parse(
      table_json(entry("wmma", "", "bf16", 1, 8, 2, 4096, 4096, "16x32x128:w2:s4") + "," +
                 entry("wmma", "", "f16", 512, 8, 2, 4096, 4096, "128x128x64:w8:s3")),
      "mixed");
  EXPECT_EQ(mixed.lookup(MoeVariant::Wmma, std::nullopt, ElementKind::F16, kSm90,
                         dims_of(1, 8, 2, 4096, 4096)),
            (Tile{128, 128, 64, 8, 3}));
}

TEST(TileTableLookup, ArchNumberMatchesAndInvalidEntriesAreSkipped) {
  const TileTable t = lookup_table();
  const ProblemDims d = dims_of(1, 8, 2, 4096, 4096);
  // sm_90a is served by an sm_90 table; sm_80 is not.
  EXPECT_TRUE(t.serves(GpuArch{90, true}));
  EXPECT_EQ(t.lookup(MoeVariant::Wmma, std::nullopt, ElementKind::F16, GpuArch{90, true}, d),
            (Tile{16, 64, 128, 4, 4}));
  EXPECT_FALSE(t.serves(GpuArch{80, false}));
  EXPECT_FALSE(t.lookup(MoeVariant::Wmma, std::nullopt, ElementKind::F16, GpuArch{80, false}, d));
  // nearest ignores the table's architecture (pinned tables), still checking the tile rules: the
  // exact 1-token entry (invalid BM=24) is skipped for the valid 8-token one.
  EXPECT_EQ(t.nearest(MoeVariant::Wmma, std::nullopt, ElementKind::F16, GpuArch{80, false}, d),
            (Tile{16, 64, 128, 4, 4}));
  // A tile too large for sm_86's shared memory is skipped there, used on sm_90.
  const TileTable big = TileTable::parse(
      table_json(entry("wmma", "", "f16", 1, 8, 2, 4096, 4096, "128x128x64:w8:s4")), "big");
  EXPECT_TRUE(big.nearest(MoeVariant::Wmma, std::nullopt, ElementKind::F16, kSm90, d));
  EXPECT_FALSE(
      big.nearest(MoeVariant::Wmma, std::nullopt, ElementKind::F16, GpuArch{86, false}, d));
}

TEST(TileTableDefaultTile, UserTableFirstThenHeuristics) {
  const TileTable t = lookup_table();
  const ProblemDims d = dims_of(1, 128, 8, 768, 2048);
  const Tile heuristic = heuristic_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K,
                                        ElementKind::Bf16, kSm90, d, false);
  EXPECT_EQ(default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, kSm90, d,
                         false, &t),
            (Tile{16, 32, 64, 2, 3}));
  // A problem the table has nothing for falls through.
  EXPECT_EQ(default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q6_K, ElementKind::Bf16, kSm90, d,
                         false, &t),
            default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q6_K, ElementKind::Bf16, kSm90, d,
                         false));
  // An unpinned table of another arch does not apply; a pinned one does.
  EXPECT_EQ(default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                         GpuArch{80, false}, d, false, &t),
            default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                         GpuArch{80, false}, d, false));
  TileTable pinned = t;
  pinned.stamp.pinned = true;
  EXPECT_EQ(default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16,
                         GpuArch{80, false}, d, false, &pinned),
            (Tile{16, 32, 64, 2, 3}));
  if (shipped_tile_table(kSm90) == nullptr) {
    EXPECT_EQ(default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, kSm90, d,
                           false),
              heuristic);
  }
}

// Every entry of every shipped table must be a valid tile for its architecture, so that a table
// added to codegen/tile_tables/ is covered as soon as it is embedded.
TEST(ShippedTileTables, EveryEntryIsValidForItsArch) {
  for (const ShippedTileTableFile& f : shipped_tile_table_files()) {
    SCOPED_TRACE(std::string(f.name));
    const TileTable t = TileTable::parse(f.text, f.name);
    const auto arch = parse_arch(t.stamp.arch);
    ASSERT_TRUE(arch.has_value());
    EXPECT_EQ(std::string(f.name), "sm_" + std::to_string(arch->sm) + ".json")
        << "a shipped table is named after its architecture number";
    EXPECT_EQ(shipped_tile_table(*arch),
              shipped_tile_table(GpuArch{arch->sm, !arch->arch_specific}));
    ASSERT_NE(shipped_tile_table(*arch), nullptr);
    for (std::size_t i = 0; i < t.entries.size(); ++i) {
      const TileTableEntry& e = t.entries[i];
      KernelSpec spec;
      spec.variant = e.variant;
      spec.format = e.format;
      spec.element = e.element;
      spec.arch = kernel_target(e.variant, *arch);  // as plans select it (sm_90a tensor cores)
      spec.tile = e.tile;
      EXPECT_EQ(tile_error(spec), std::nullopt) << "entry " << i << ": " << tile_table_text(e.tile);
    }
  }
  for (int sm : kSupportedSm) {
    const TileTable* t = shipped_tile_table(GpuArch{sm, false});
    if (t != nullptr) {
      EXPECT_TRUE(t->serves(GpuArch{sm, false}));
    }
  }
}

}  // namespace
}  // namespace moejit
