// The q8_1 activation quantizer of ScalarGguf (templates/quantize_q8_1.cuh) against the CPU
// quantizer (moejit::quantize_q8_1), byte for byte, on blocks that reach its edge cases: NaN,
// infinities, zeros, and blocks so small that 1 / d overflows and the quants clamp. A half that is
// NaN on both sides counts as equal: the NaN's sign and payload come from the processor (an x86
// inf * 0 gives a negative NaN, a GPU the canonical positive one) and mean nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "codegen/spec_syntax.hpp"
#include "moejit/gguf.hpp"
#include "runtime/plan_checks.hpp"
#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

bool is_nan_half(std::uint16_t bits) {
  return (bits & 0x7C00u) == 0x7C00u && (bits & 0x03FFu) != 0;
}

// The same half, or NaN on both sides.
::testing::AssertionResult same_half(std::uint16_t got, std::uint16_t expected) {
  if (got == expected || (is_nan_half(got) && is_nan_half(expected)))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "half bits " << got << ", expected " << expected;
}

TEST(ScalarGgufQuantizer, WritesTheCpuQuantizersBlocksByteForByte) {
  MOEJIT_REQUIRE_GPU();
  Case c = Case::of(MoeVariant::ScalarGguf, /*tokens=*/6, /*experts=*/8, /*top_k=*/2, 64, 512);
  c.format = GgufBlockFormat::Q8_0;
  c.element = ElementKind::F32;
  c.weighted = false;  // one activation row per token
  const MoePlan plan = MoePlan::select(c.descriptor());
  HostOperands ops = make_operands(c);
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::size_t k = static_cast<std::size_t>(c.k);
  auto block = [&](std::size_t row, std::size_t b) {
    return ops.activations_f32.data() + row * k + 32 * b;
  };
  std::fill_n(block(0, 0), 32, 0.0f);  // all zero
  std::fill_n(block(0, 1), 32, 0.0f);  // tiny: 1 / d overflows, quants clamp to +-127
  block(0, 1)[0] = 1e-38f;
  block(0, 1)[5] = -2e-38f;
  block(0, 1)[9] = 1e-45f;
  block(1, 0)[3] = nan;     // NaN: ignored by amax, quantized to 0
  block(1, 1)[7] = -inf;    // infinite d, every quant 0
  block(2, 3)[0] = 3e-37f;  // just above the overflow edge
  std::fill_n(block(2, 3) + 1, 31, -1e-37f);

  DeviceOperands device = upload_operands(c, ops, plan.workspace_size());
  device.poison();
  plan.run(nullptr, device.workspace.get(), device.workspace.bytes(), device.args);
  const std::vector<std::uint8_t> workspace = device.workspace.to_host<std::uint8_t>();

  const KernelSpec spec = parse_kernel_spec(plan.sku());
  const ProblemDims dims =
      plan_checks::problem_dims(c.descriptor(), std::int64_t{c.tokens} * c.top_k, false);
  const WorkspaceLayout layout = workspace_layout(spec, dims);
  const std::size_t rows = static_cast<std::size_t>(c.tokens);
  std::vector<Q8_1Block> expected(rows * k / 32);
  quantize_q8_1(std::span<const float>(ops.activations_f32.data(), rows * k), expected);
  ASSERT_GE(layout.q8_bytes, expected.size() * sizeof(Q8_1Block));
  for (std::size_t b = 0; b < expected.size(); ++b) {
    Q8_1Block got;
    std::memcpy(&got, workspace.data() + layout.q8_offset + b * sizeof(Q8_1Block), sizeof got);
    EXPECT_TRUE(same_half(got.d, expected[b].d)) << "d of block " << b;
    EXPECT_TRUE(same_half(got.s, expected[b].s)) << "s of block " << b;
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(got.qs[i], expected[b].qs[i]) << "block " << b << " value " << i;
  }
  EXPECT_EQ(expected[1].qs[0], 127);  // the clamp is exercised
  EXPECT_EQ(expected[1].qs[5], -127);
  EXPECT_TRUE(is_nan_half(expected[17].s));  // -inf: d infinite, s = half(inf * 0)
}

}  // namespace
}  // namespace moejit::gputest
