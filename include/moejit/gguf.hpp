// GGUF block formats on the CPU: half/bf16 conversion, dequantization bit-exact with ggml's
// definitions, quantization with ggml's reference algorithms, and the q8_1 activation quantizer
// exactly as the ScalarGguf kernels apply it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "moejit/types.hpp"

namespace moejit {

// IEEE binary16 and bfloat16 conversions; float -> half/bf16 rounds to nearest even.
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
float bf16_to_float(std::uint16_t b);
std::uint16_t float_to_bf16(float f);

// Bytes of n_elems elements of format f. Throws Error(InvalidProblem) if n_elems is not a whole
// number of blocks.
std::size_t gguf_bytes(GgufBlockFormat f, std::size_t n_elems);

// Dequantizes blocks.size() / block_bytes blocks into out (block_elems floats per block), one f32
// operation per step of ggml's formula, no contraction. Throws Error(InvalidProblem) when the
// sizes do not describe whole blocks or disagree.
void dequantize(GgufBlockFormat f, std::span<const std::uint8_t> blocks, std::span<float> out);

// Quantizes in (a whole number of blocks) with ggml's reference algorithm for f
// (quantize_row_*_ref). Throws Error(InvalidProblem) on a size mismatch or a non-finite input.
void quantize(GgufBlockFormat f, std::span<const float> in, std::span<std::uint8_t> blocks);

// One q8_1 block as the ScalarGguf kernels store activations: d = half(amax / 127),
// s = half(d * sum(qs)) (ggml's reference), qs[i] = roundf(x[i] * (1 / d)) (0 when amax == 0).
struct Q8_1Block {
  std::uint16_t d;
  std::uint16_t s;
  std::int8_t qs[32];
};
static_assert(sizeof(Q8_1Block) == 36);

// Quantizes in (a multiple of 32 values) to q8_1 blocks exactly as the GPU kernels do.
// amax ignores NaNs (fmaxf); roundf(x * id) converts to int saturating, NaN giving 0, and is
// clamped to [-127, 127] (which only acts when amax < ~3.7e-37 makes 1 / d infinite).
// Throws Error(InvalidProblem) unless out.size() * 32 == in.size().
void quantize_q8_1(std::span<const float> in, std::span<Q8_1Block> out);

}  // namespace moejit
