// Every variant x weight format x element type on the device, at a decode shape and a prefill
// shape (both tile families), against the double-precision CPU reference: every element of a
// targeted row within the precision guarantee, every other row untouched.
#include <gtest/gtest.h>

#include <vector>

#include "moejit/types.hpp"
#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

// The variant, format and element combinations moejit supports.
struct Combo {
  MoeVariant variant;
  std::optional<GgufBlockFormat> format;
  ElementKind element;
};

std::vector<Combo> all_combos() {
  std::vector<Combo> out;
  for (GgufBlockFormat f : kWeightFormats)
    out.push_back({MoeVariant::ScalarGguf, f, ElementKind::F32});
  for (ElementKind e : {ElementKind::F16, ElementKind::Bf16}) {
    out.push_back({MoeVariant::Wmma, std::nullopt, e});
    for (GgufBlockFormat f : kWeightFormats) out.push_back({MoeVariant::WmmaGguf, f, e});
  }
  return out;
}

Case with_combo(Case c, const Combo& combo) {
  c.variant = combo.variant;
  c.format = combo.format;
  c.element = combo.element;
  return c;
}

std::vector<Case> matrix_cases() {
  std::vector<Case> cases;
  for (const Combo& combo : all_combos()) {
    const int block = combo.format ? block_layout(*combo.format).block_elems : 32;
    // Decode: a few tokens, top-k weights, N not a multiple of any tile.
    Case decode;
    decode.tokens = 5;
    decode.experts = 8;
    decode.top_k = 2;
    decode.n = 72;
    decode.k = 2 * std::max(block, 128);
    decode.prefill = false;
    decode.weighted = true;
    cases.push_back(with_combo(decode, combo));
    // Prefill: many tokens over many m-tiles, no top-k weights (input row = pair / top_k).
    Case prefill;
    prefill.tokens = 150;
    prefill.experts = 16;
    prefill.top_k = 2;
    prefill.n = 136;
    prefill.k = 512;
    prefill.prefill = true;
    prefill.weighted = false;
    prefill.seed = 2;
    cases.push_back(with_combo(prefill, combo));
  }
  return cases;
}

using MoeCorrectness = PrewarmedCases<matrix_cases>;

TEST_P(MoeCorrectness, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, MoeCorrectness, ::testing::ValuesIn(matrix_cases()),
                         CaseName());

}  // namespace
}  // namespace moejit::gputest
