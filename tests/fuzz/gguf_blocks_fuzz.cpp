// The CPU GGUF codecs (reference/), which `moejit quantize` / `dequant` run on users' files and
// every GPU test trusts. Properties: dequantizing any bytes either works or throws
// Error(InvalidProblem) for sizes that are not whole blocks; quantizing finite values works, and
// non-finite ones are refused with Error(InvalidProblem); values of moderate size quantize to
// blocks that dequantize to finite values near them; the q8_1 activation quantizer takes any
// floats, NaN and infinities included, without undefined behaviour.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using moejit::fuzz::fail;
using moejit::fuzz::FuzzInput;

namespace {

void expect_invalid(const char* property, const Error& e) {
  if (e.code() != ErrorCode::InvalidProblem) fail(property, e.what());
}

void dequantize_any(GgufBlockFormat f, std::span<const std::uint8_t> bytes, std::size_t extra) {
  const BlockLayout& b = block_layout(f);
  const std::size_t blocks = bytes.size() / b.block_bytes;
  std::vector<float> out(blocks * b.block_elems + extra);
  try {
    dequantize(f, bytes, out);
  } catch (const Error& e) {
    expect_invalid("dequantize errors are InvalidProblem", e);
    if (bytes.size() % b.block_bytes == 0 && extra == 0)
      fail("whole blocks dequantize", std::string(b.name) + ": " + e.what());
    return;
  }
  if (bytes.size() % b.block_bytes != 0 || extra != 0)
    fail("sizes that disagree are refused", std::string(b.name));
}

void round_trip(GgufBlockFormat f, const std::vector<float>& x) {
  const BlockLayout& b = block_layout(f);
  std::vector<std::uint8_t> blocks(x.size() / b.block_elems * b.block_bytes);
  bool finite = true;
  float amax = 0;
  for (float v : x) {
    finite = finite && std::isfinite(v);
    if (std::isfinite(v)) amax = std::max(amax, std::fabs(v));
  }
  try {
    quantize(f, x, blocks);
  } catch (const Error& e) {
    expect_invalid("quantize errors are InvalidProblem", e);
    if (finite) fail("finite values quantize", std::string(b.name) + ": " + e.what());
    return;
  }
  if (!finite) fail("non-finite values are refused", std::string(b.name));
  // Far from the half range (scales are stored as f16), the blocks must give back finite values
  // no further from the input than the block's magnitude allows.
  if (amax > 1e4f) return;
  std::vector<float> back(x.size());
  dequantize(f, blocks, back);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(back[i]) || std::fabs(back[i] - x[i]) > 2.0f * amax + 1e-3f)
      fail("moderate values round-trip to finite values near them",
           std::string(b.name) + " element " + std::to_string(i) + ": " + std::to_string(x[i]) +
               " -> " + std::to_string(back[i]) + " (block amax " + std::to_string(amax) + ")");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const auto f = static_cast<GgufBlockFormat>(in.byte() % kBlockLayouts.size());
  const BlockLayout& b = block_layout(f);
  const std::uint8_t mode = in.byte() % 4;
  if (mode == 0) {
    const std::size_t extra = in.byte() < 200 ? 0 : 1 + in.byte() % 64;
    dequantize_any(f, in.rest_bytes(), extra);
    return 0;
  }
  // Floats from the input: raw bit patterns (mode 1), or small integers scaled by a power of
  // two (modes 2 and 3), which reach equal values, zeros, subnormals and single outliers.
  const std::size_t blocks = 1 + in.byte() % 2;
  std::vector<float> x(blocks * b.block_elems);
  const int shift = static_cast<int>(in.byte() % 160) - 140;
  for (float& v : x) {
    if (mode == 1)
      v = in.raw<float>();
    else
      v = std::ldexp(static_cast<float>(static_cast<std::int8_t>(in.byte())), shift);
  }
  round_trip(f, x);
  std::vector<Q8_1Block> q(x.size() / 32);
  quantize_q8_1(x, q);
  for (const Q8_1Block& block : q)
    for (std::int8_t v : block.qs)
      if (v < -127) fail("q8_1 values stay within [-127, 127]", std::to_string(v));
  return 0;
}
