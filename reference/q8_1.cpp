// The q8_1 activation quantizer exactly as the ScalarGguf kernels apply it (ggml's reference
// arithmetic): d = amax / 127, q = roundf(x * (1 / d)) clamped to [-127, 127], s = half(d *
// sum(q)).
#include <cmath>
#include <string>

#include "moejit/error.hpp"
#include "moejit/gguf.hpp"

namespace moejit {
namespace {

// A rounded value to q as the kernel does it: the saturating float-to-int conversion (NaN gives 0)
// followed by a clamp to [-127, 127]. Only an infinite x * id (amax below about 3.7e-37, where
// 1 / d overflows) reaches the clamp.
std::int8_t clamp_to_q8(float v) {
  if (std::isnan(v)) return 0;
  if (v >= 127.0f) return 127;
  if (v <= -127.0f) return -127;
  return static_cast<std::int8_t>(v);
}

}  // namespace

void quantize_q8_1(std::span<const float> in, std::span<Q8_1Block> out) {
  constexpr std::size_t kBlock = 32;
  if (in.size() % kBlock != 0 || in.size() / kBlock != out.size()) {
    throw Error(ErrorCode::InvalidProblem,
                "quantize_q8_1: " + std::to_string(in.size()) + " values need " +
                    (in.size() % kBlock != 0 ? std::string("a multiple of 32 values")
                                             : std::to_string(in.size() / kBlock) + " blocks") +
                    ", but the output holds " + std::to_string(out.size()) +
                    " blocks; pass 32 values per q8_1 block");
  }
  for (std::size_t b = 0; b < out.size(); ++b) {
    const float* x = in.data() + b * kBlock;
    float amax = 0.0f;
    for (std::size_t i = 0; i < kBlock; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    Q8_1Block& block = out[b];
    int sum = 0;
    for (std::size_t i = 0; i < kBlock; ++i) {
      block.qs[i] = clamp_to_q8(std::round(x[i] * id));
      sum += block.qs[i];
    }
    block.d = float_to_half(d);
    block.s = float_to_half(d * static_cast<float>(sum));
  }
}

}  // namespace moejit
