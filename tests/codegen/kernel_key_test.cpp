// Canonical kernel key text and the spec syntax parser: golden keys, round trips, errors.
#include <gtest/gtest.h>

#include <set>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/kernel_template.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"

namespace moejit {
namespace {

KernelSpec make_spec(MoeVariant v, std::optional<GgufBlockFormat> f, ElementKind e, GpuArch arch,
                     Tile tile, int n = 0, int k = 0) {
  KernelSpec s;
  s.variant = v;
  s.format = f;
  s.element = e;
  s.arch = arch;
  s.tile = tile;
  s.const_n = n;
  s.const_k = k;
  return s;
}

// The message of the InvalidProblem error parse_kernel_spec throws for text.
std::string parse_error(const std::string& text) {
  try {
    parse_spec_text(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for '" << text << "'";
  return "";
}

TEST(KernelKey, GoldenTexts) {
  EXPECT_EQ(kernel_key_text(make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K,
                                      ElementKind::Bf16, {90, false}, {64, 64, 32, 4, 3})),
            "wmma_gguf:q4_k:bf16:sm_90:64x64x32:w4:s3");
  EXPECT_EQ(kernel_key_text(make_spec(MoeVariant::Wmma, std::nullopt, ElementKind::F16, {80, false},
                                      {32, 32, 16, 4, 1})),
            "wmma:f16:sm_80:32x32x16:w4:s1");
  EXPECT_EQ(kernel_key_text(make_spec(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0,
                                      ElementKind::F32, {90, true}, {1, 4, 0, 4, 1}, 768, 2048)),
            "scalar_gguf:q8_0:f32:sm_90a:1x4x0:w4:s1:n=768:k=2048");
  EXPECT_EQ(kernel_key_text(make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q6_K, ElementKind::F16,
                                      {86, false}, {128, 64, 256, 8, 2}, 0, 4096)),
            "wmma_gguf:q6_k:f16:sm_86:128x64x256:w8:s2:k=4096");
  EXPECT_EQ(kernel_key_text(make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0,
                                      ElementKind::Bf16, {90, true}, {64, 128, 64, 8, 4, true})),
            "wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4:rw");
}

TEST(KernelKey, EveryFieldChangesTheText) {
  const KernelSpec base = make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::F16,
                                    {80, false}, {64, 64, 32, 4, 2});
  std::vector<KernelSpec> specs{base};
  auto with = [&](auto change) {
    KernelSpec s = base;
    change(s);
    specs.push_back(s);
  };
  with([](KernelSpec& s) { s.variant = MoeVariant::ScalarGguf; });
  with([](KernelSpec& s) { s.format = GgufBlockFormat::Q5_K; });
  with([](KernelSpec& s) { s.element = ElementKind::Bf16; });
  with([](KernelSpec& s) { s.arch.sm = 86; });
  with([](KernelSpec& s) { s.arch = {90, true}; });
  with([](KernelSpec& s) { s.tile.bm = 128; });
  with([](KernelSpec& s) { s.tile.bn = 128; });
  with([](KernelSpec& s) { s.tile.bk = 64; });
  with([](KernelSpec& s) { s.tile.warps = 8; });
  with([](KernelSpec& s) { s.tile.stages = 3; });
  with([](KernelSpec& s) { s.tile.reg_weights = true; });
  with([](KernelSpec& s) { s.const_n = 768; });
  with([](KernelSpec& s) { s.const_k = 2048; });
  std::set<std::string> keys;
  for (const KernelSpec& s : specs) keys.insert(kernel_key_text(s));
  EXPECT_EQ(keys.size(), specs.size());
}

TEST(KernelKey, Deterministic) {
  const KernelSpec s = make_spec(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16, {90, true},
                                 {64, 128, 32, 8, 3}, 14336, 4096);
  EXPECT_EQ(kernel_key_text(s), kernel_key_text(KernelSpec(s)));
}

TEST(SpecSyntax, KeyTextRoundTripsThroughParts) {
  const KernelSpec specs[] = {
      make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16, {90, false},
                {64, 64, 32, 4, 3}),
      make_spec(MoeVariant::Wmma, std::nullopt, ElementKind::F16, {80, false}, {32, 32, 16, 4, 1}),
      make_spec(MoeVariant::ScalarGguf, GgufBlockFormat::Q2_K, ElementKind::F32, {90, true},
                {1, 4, 0, 4, 1}, 768, 2048),
  };
  for (const KernelSpec& s : specs) {
    const SpecText t = parse_spec_text(kernel_key_text(s));
    EXPECT_EQ(t.variant, s.variant);
    EXPECT_EQ(t.format, s.format);
    EXPECT_EQ(t.element, s.element);
    EXPECT_EQ(t.arch, s.arch);
    ASSERT_TRUE(t.tile);
    EXPECT_EQ(t.tile->bm, s.tile.bm);
    EXPECT_EQ(t.tile->bn, s.tile.bn);
    EXPECT_EQ(t.tile->bk, s.tile.bk);
    EXPECT_EQ(t.warps, s.tile.warps);
    EXPECT_EQ(t.stages, s.tile.stages);
    EXPECT_EQ(t.const_n.value_or(0), s.const_n);
    EXPECT_EQ(t.const_k.value_or(0), s.const_k);
  }
}

TEST(SpecSyntax, PartsInAnyOrderAndAnyCase) {
  const SpecText a = parse_spec_text("wmma_gguf:q4_k:bf16:sm_90a:64x64x32:w4:s3:k=2048");
  const SpecText b = parse_spec_text("WMMA_GGUF:k=2048:S3:SM_90A:BF16:64X64X32:Q4_K:w4");
  EXPECT_EQ(a.variant, b.variant);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.element, b.element);
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.tile, b.tile);
  EXPECT_EQ(a.warps, b.warps);
  EXPECT_EQ(a.stages, b.stages);
  EXPECT_EQ(a.const_k, b.const_k);
}

TEST(SpecSyntax, PartsAfterTheFormatAreOptional) {
  const SpecText t = parse_spec_text("wmma_gguf:q5_0");
  EXPECT_EQ(t.variant, MoeVariant::WmmaGguf);
  EXPECT_EQ(t.format, GgufBlockFormat::Q5_0);
  EXPECT_FALSE(t.element);
  EXPECT_FALSE(t.arch);
  EXPECT_FALSE(t.tile);
  EXPECT_FALSE(t.warps);
  EXPECT_FALSE(t.stages);
  EXPECT_EQ(parse_spec_text("wmma").variant, MoeVariant::Wmma);
}

TEST(SpecSyntax, ParseKernelSpecFillsDefaults) {
  SpecDefaults d;
  d.arch = {86, false};
  const KernelSpec s = parse_kernel_spec("wmma_gguf:q4_k", d);
  EXPECT_EQ(s.element, ElementKind::F16);
  EXPECT_EQ(s.arch, d.arch);
  EXPECT_EQ(s.tile, default_tile(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::F16,
                                 d.arch, d.dims, d.is_prefill));
  EXPECT_EQ(parse_kernel_spec("scalar_gguf:q8_0").element, ElementKind::F32);
  // A full key parses back to the same spec.
  for (const char* text : {"wmma_gguf:q4_k:bf16:sm_90", "wmma:bf16:sm_80", "scalar_gguf:q6_k"}) {
    const KernelSpec spec = parse_kernel_spec(text);
    EXPECT_EQ(parse_kernel_spec(kernel_key_text(spec)), spec) << text;
  }
}

TEST(SpecSyntax, ErrorPointsAtThePartAndListsWhatIsAllowed) {
  const std::string msg = parse_error("wmma_gguf:q4_x:bf16");
  EXPECT_NE(msg.find("'q4_x' is not a weight format"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n  wmma_gguf:q4_x:bf16\n            ^^^^\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k"),
            std::string::npos)
      << msg;
}

TEST(SpecSyntax, RegisterWeightPart) {
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4:rw");
  EXPECT_TRUE(spec.tile.reg_weights);
  EXPECT_EQ(kernel_key_text(spec), "wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4:rw");
  EXPECT_FALSE(parse_kernel_spec("wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4").tile.reg_weights);
  std::string msg = parse_error("wmma:bf16:sm_90a:64x128x64:w8:s4:rw");
  EXPECT_NE(msg.find("wmma_gguf tile option"), std::string::npos) << msg;
  msg = parse_error("wmma_gguf:q8_0:bf16:sm_90a:64x128x64:w8:s4:rw:rw");
  EXPECT_NE(msg.find("a second rw part"), std::string::npos) << msg;
  try {
    parse_kernel_spec("wmma_gguf:q5_k:bf16:sm_90a:64x128x64:w8:s4:rw");
    ADD_FAILURE() << "q5_k rw parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rw tiles take the formats of 32-element blocks"),
              std::string::npos)
        << e.what();
  }
}

TEST(SpecSyntax, UnknownVariant) {
  const std::string msg = parse_error("mma:f16");
  EXPECT_NE(msg.find("'mma' is not a variant"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allowed: scalar_gguf, wmma, wmma_gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n  mma:f16\n  ^^^\n"), std::string::npos) << msg;
}

TEST(SpecSyntax, UnknownPartListsEveryKind) {
  const std::string msg = parse_error("wmma:f16:fast");
  EXPECT_NE(msg.find("'fast' is not a spec part"), std::string::npos) << msg;
  for (const char* kind :
       {"weight format", "element type", "sm_90a", "BMxBNxBK", "wN", "sN", "n=N", "k=K"})
    EXPECT_NE(msg.find(kind), std::string::npos) << kind << " missing from: " << msg;
}

TEST(SpecSyntax, RejectsBadCombinationsAndValues) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"wmma:q4_k:f16", "wmma takes dense weights"},
      {"wmma_gguf:q8_1:f16", "activation format"},
      {"wmma_gguf:bf16", "wmma_gguf needs a weight format"},
      {"scalar_gguf:q4_k:f16", "does not suit scalar_gguf"},
      {"wmma:f32", "does not suit wmma"},
      {"wmma:f16:sm_75", "not a supported architecture"},
      {"wmma:f16:sm_80a", "not a supported architecture"},
      {"wmma:f16:compute_80", "not a supported architecture"},
      {"wmma:f16:sm_92222222222222222222", "not a supported architecture"},
      {"wmma:f16:sm_8..6", "not a supported architecture"},
      {"wmma:f16:64x64x64:w4:s1073741824", "not a stage count"},
      {"wmma:f16:64x0x16", "is not a tile"},
      {"wmma:f16:64x64", "is not a spec part"},
      {"wmma:f16:w0", "not a warp count"},
      {"wmma:f16:s0", "not a stage count"},
      {"wmma:f16:n=0", "does not give a positive size"},
      {"wmma:f16:k=99999999999", "does not give a positive size"},
      {"wmma:f16:f16", "a second element part"},
      {"wmma:f16:sm_80:sm_90", "a second architecture part"},
      {"wmma::f16", "an empty part"},
      {"", "names no variant"},
  };
  for (const Case& c : cases) {
    const std::string msg = parse_error(c.text);
    EXPECT_NE(msg.find(c.needle), std::string::npos) << c.text << " -> " << msg;
  }
}

TEST(SpecSyntax, ArchitectureNames) {
  EXPECT_EQ(parse_arch("sm_86"), (GpuArch{86, false}));
  EXPECT_EQ(parse_arch("9.0"), (GpuArch{90, false}));
  EXPECT_EQ(parse_arch("sm_90a"), (GpuArch{90, true}));
  EXPECT_EQ(parse_arch("compute_89"), (GpuArch{89, false}));
  for (const char* bad : {"", "sm_", "sm_75", "sm_80a", "8.", ".86", "8..6", "8.6.", "sm_-80",
                          "sm_92222222222222222222", "99999999999999999999a"})
    EXPECT_FALSE(parse_arch(bad)) << bad;
}

TEST(SpecSyntax, TileNumbersPastAnyLimitAreRefusedBeforeTheVariantRules) {
  // Numbers no valid tile reaches are refused first, so that the variant rules' arithmetic
  // (products of tile numbers in int) cannot overflow.
  for (const Tile t : {Tile{1 << 30, 64, 64, 4, 3}, Tile{8, 64, 1 << 30, 8, 1},
                       Tile{16, 64, 64, 1 << 30, 3}, Tile{16, 64, 64, 4, 1 << 30}}) {
    const KernelSpec s =
        make_spec(MoeVariant::Wmma, std::nullopt, ElementKind::F16, {90, true}, t, 0, 0);
    ASSERT_TRUE(tile_error(s));
    EXPECT_NE(tile_error(s)->find("out of range"), std::string::npos) << *tile_error(s);
  }
  const KernelSpec scalar = make_spec(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_0,
                                      ElementKind::F32, {80, false}, {2, 8, 0, 1 << 30, 1}, 0, 0);
  ASSERT_TRUE(tile_error(scalar));
  EXPECT_NE(tile_error(scalar)->find("out of range"), std::string::npos) << *tile_error(scalar);
  try {
    parse_kernel_spec("wmma:f16:8192x64x64:w4:s3");
    FAIL() << "an 8192-row tile was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}

TEST(SpecSyntax, SpecErrorChecksCompiledSizes) {
  KernelSpec s = make_spec(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::F16,
                           {80, false}, {64, 64, 32, 4, 2}, 0, 2048);
  EXPECT_FALSE(spec_error(s));
  s.const_k = 2048 + 32;
  ASSERT_TRUE(spec_error(s));
  EXPECT_NE(spec_error(s)->find("block size of q4_k"), std::string::npos) << *spec_error(s);
  s = make_spec(MoeVariant::Wmma, std::nullopt, ElementKind::F16, {80, false}, {64, 64, 32, 4, 2},
                0, 100);
  EXPECT_TRUE(spec_error(s));
  s.format = GgufBlockFormat::Q8_0;
  s.const_k = 0;
  EXPECT_TRUE(spec_error(s));
}

TEST(SpecSyntax, ParseKernelSpecRejectsATileTheVariantCannotRun) {
  try {
    parse_kernel_spec("wmma:f16:sm_80:7x7x7:w4:s1");
    FAIL() << "a 7x7x7 tile was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("wmma:f16:sm_80:7x7x7:w4:s1"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace moejit
