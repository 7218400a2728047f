// Edge-case shapes and routings on a representative set of kernels: top_k 1 and 8, one expert,
// 128, 200 and 1500 experts (most empty), K over many blocks, 1 to 4096 tokens, odd N, every token
// on one expert, null top-k weights, out-of-range expert and pair ids, both tile families.
#include <gtest/gtest.h>

#include <vector>

#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

struct Kernel {
  MoeVariant variant;
  std::optional<GgufBlockFormat> format;
  ElementKind element;
};

// One dense, two tensor-core GGUF (a 256-block k-quant and a 32-block format with a min), two
// scalar GGUF kernels.
const Kernel kKernels[] = {
    {MoeVariant::Wmma, std::nullopt, ElementKind::Bf16},
    {MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::F16},
    {MoeVariant::WmmaGguf, GgufBlockFormat::Q5_1, ElementKind::Bf16},
    {MoeVariant::ScalarGguf, GgufBlockFormat::Q6_K, ElementKind::F32},
    {MoeVariant::ScalarGguf, GgufBlockFormat::Q4_0, ElementKind::F32},
};

Case shape(int tokens, int experts, int top_k, int n, int k) {
  return Case::of(MoeVariant::Wmma, tokens, experts, top_k, n, k);
}

std::vector<Case> edge_shapes() {
  std::vector<Case> s;
  s.push_back(shape(1, 8, 1, 64, 512));      // a single token
  s.push_back(shape(40, 64, 8, 96, 256));    // top_k 8
  s.push_back(shape(70, 1, 1, 80, 256));     // one expert
  s.push_back(shape(3, 128, 4, 64, 256));    // 128 experts, nearly all without tokens
  s.push_back(shape(64, 1500, 4, 32, 256));  // more experts than one scan block
  s.push_back(shape(300, 200, 4, 48, 256));  // tile mapping over 200 experts (two vote rounds)
  s.push_back(shape(9, 8, 2, 40, 4096));     // K over 16 super-blocks / 128 blocks
  s.push_back(shape(4096, 8, 2, 64, 256));   // many tokens
  s.push_back(shape(5, 8, 1, 77, 256));      // odd N and an odd count of 16-bit outputs
  Case hot = shape(300, 8, 2, 48, 256);      // every token's slots on the same two experts
  hot.routing = RoutingKind::OneExpert;
  s.push_back(hot);
  Case bad = shape(33, 16, 2, 56, 256);  // out-of-range ids must be skipped
  bad.invalid_entries = true;
  s.push_back(bad);
  return s;
}

std::vector<Case> edge_cases() {
  std::vector<Case> cases;
  std::uint32_t seed = 10;
  for (const Case& base : edge_shapes()) {
    for (const Kernel& kernel : kKernels) {
      for (bool prefill : {false, true}) {
        Case c = base;
        c.variant = kernel.variant;
        c.format = kernel.format;
        c.element = kernel.element;
        c.prefill = prefill;
        // Null and present top-k weights, each in both tile families across the kernels.
        c.weighted = ((seed / 2) % 2 == 0) != prefill;
        c.seed = seed++;
        cases.push_back(c);
      }
    }
  }
  return cases;
}

using MoeEdgeCases = PrewarmedCases<edge_cases>;

TEST_P(MoeEdgeCases, MatchesReferenceWithinGuarantee) {
  MOEJIT_REQUIRE_GPU();
  const RunOutcome r = run_case(GetParam());
  expect_correct(r);
}

INSTANTIATE_TEST_SUITE_P(Shapes, MoeEdgeCases, ::testing::ValuesIn(edge_cases()), CaseName());

}  // namespace
}  // namespace moejit::gputest
