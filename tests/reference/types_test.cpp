// The public enum names round-trip through their parsers, and the layout table is consistent.
#include <gtest/gtest.h>

#include "moejit/types.hpp"

namespace moejit {
namespace {

TEST(Types, FormatNamesRoundTrip) {
  for (const auto& l : kBlockLayouts) {
    ASSERT_EQ(block_layout(l.format).name, l.name);
    EXPECT_EQ(parse_format(l.name), l.format);
  }
  EXPECT_EQ(parse_format("Q4_K"), GgufBlockFormat::Q4_K);
  EXPECT_FALSE(parse_format("q4_2").has_value());
}

TEST(Types, VariantAndElementNames) {
  EXPECT_EQ(parse_variant("wmma_gguf"), MoeVariant::WmmaGguf);
  EXPECT_EQ(parse_element("bf16"), ElementKind::Bf16);
  EXPECT_FALSE(parse_variant("dense").has_value());
}

TEST(Types, LayoutBytesMatchGgml) {
  EXPECT_EQ(block_layout(GgufBlockFormat::Q4_K).block_bytes, 144);
  EXPECT_EQ(block_layout(GgufBlockFormat::Q6_K).block_bytes, 210);
  EXPECT_EQ(block_layout(GgufBlockFormat::Q5_1).block_bytes, 24);
  for (auto f : kWeightFormats) EXPECT_TRUE(block_layout(f).weight_format);
}

}  // namespace
}  // namespace moejit
