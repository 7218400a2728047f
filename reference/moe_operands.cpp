// Decoding of the reference's operands: activation rows (q8_1 values or element values) and
// expert weight rows (element values or ggml dequantized values), tile by tile in parallel.
#include "reference/moe_operands.hpp"

#include <cmath>
#include <cstring>
#include <utility>

#include "moejit/gguf.hpp"
#include "reference/parallel.hpp"

namespace moejit::ref::operands {
namespace {

std::uint16_t load_bits(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Bytes [begin, end) of a block that hold the quants of a format whose values are
// scale * q + min term (ggml-common.h layouts); with them zeroed, a block dequantizes to its min
// term alone. Formats without a min term have an empty range.
std::pair<int, int> quant_bytes_of_min_format(GgufBlockFormat f) {
  switch (f) {
    case GgufBlockFormat::Q4_1:
      return {4, 20};  // qs[16]
    case GgufBlockFormat::Q5_1:
      return {4, 24};  // qh[4], qs[16]
    case GgufBlockFormat::Q2_K:
      return {16, 80};  // qs[64]
    case GgufBlockFormat::Q4_K:
      return {16, 144};  // qs[128]
    case GgufBlockFormat::Q5_K:
      return {16, 176};  // qh[32], qs[128]
    default:
      return {0, 0};
  }
}

// Decodes rows [n0, n1) of expert e into values (and magnitudes when not empty).
void decode_rows(const MoeProblem& problem, int e, int n0, int n1, std::span<float> values,
                 std::span<float> magnitudes) {
  const std::size_t k = static_cast<std::size_t>(problem.shape.k);
  const std::size_t first_row = static_cast<std::size_t>(e) * problem.shape.n + n0;
  const auto rows = static_cast<std::size_t>(n1 - n0);

  if (!problem.format) {  // Wmma: element bits
    const std::byte* src = problem.weights.data() + first_row * k * 2;
    for (std::size_t i = 0; i < rows * k; ++i)
      values[i] = element_to_float(load_bits(src + 2 * i), problem.element);
  } else {
    const BlockLayout& l = block_layout(*problem.format);
    const std::size_t row_bytes = k / l.block_elems * l.block_bytes;
    const auto* src = reinterpret_cast<const std::uint8_t*>(problem.weights.data());
    for (std::size_t r = 0; r < rows; ++r)
      dequantize(*problem.format, {src + (first_row + r) * row_bytes, row_bytes},
                 values.subspan(r * k, k));
    if (problem.variant == MoeVariant::WmmaGguf)
      for (std::size_t i = 0; i < rows * k; ++i)
        values[i] = element_to_float(float_to_element(values[i], problem.element), problem.element);

    const auto [q_begin, q_end] = quant_bytes_of_min_format(*problem.format);
    if (!magnitudes.empty() && problem.variant == MoeVariant::ScalarGguf && q_end > q_begin) {
      std::vector<std::uint8_t> blocks(row_bytes);
      std::vector<float> min_term(k);
      for (std::size_t r = 0; r < rows; ++r) {
        std::memcpy(blocks.data(), src + (first_row + r) * row_bytes, row_bytes);
        for (std::size_t b = 0; b < row_bytes; b += l.block_bytes)
          std::memset(blocks.data() + b + q_begin, 0, static_cast<std::size_t>(q_end - q_begin));
        dequantize(*problem.format, blocks, min_term);
        for (std::size_t i = 0; i < k; ++i) {
          const double w = values[r * k + i];
          const double m = min_term[i];
          magnitudes[r * k + i] = static_cast<float>(std::fabs(w - m) + std::fabs(m));
        }
      }
      return;
    }
  }
  if (!magnitudes.empty())
    for (std::size_t i = 0; i < rows * k; ++i) magnitudes[i] = std::fabs(values[i]);
}

}  // namespace

std::vector<float> activation_values(const MoeProblem& problem) {
  const auto rows = static_cast<std::size_t>(input_rows(problem));
  const auto k = static_cast<std::size_t>(problem.shape.k);
  std::vector<float> a(rows * k);
  if (problem.variant == MoeVariant::ScalarGguf) {
    parallel_for(rows, 8.0 * static_cast<double>(k), [&](std::size_t r) {
      std::vector<float> x(k);  // copied: the byte span need not be aligned for f32
      std::memcpy(x.data(), problem.activations.data() + r * k * sizeof(float), k * sizeof(float));
      std::vector<Q8_1Block> blocks(k / 32);
      quantize_q8_1(x, blocks);
      for (std::size_t b = 0; b < blocks.size(); ++b) {
        const float d = half_to_float(blocks[b].d);
        for (int i = 0; i < 32; ++i)
          a[r * k + b * 32 + i] = d * static_cast<float>(blocks[b].qs[i]);
      }
    });
  } else {
    for (std::size_t i = 0; i < rows * k; ++i)
      a[i] = element_to_float(load_bits(problem.activations.data() + 2 * i), problem.element);
  }
  return a;
}

void for_each_tile(const MoeProblem& problem, const EntryGroups& groups, bool magnitudes,
                   const std::function<void(const WeightTile&)>& body) {
  struct TileRef {
    int expert, n0, n1;
  };
  const int n = problem.shape.n;
  std::vector<TileRef> tiles;
  for (int e = 0; e < problem.shape.num_experts; ++e) {
    if (groups.offsets[e + 1] == groups.offsets[e]) continue;
    for (int n0 = 0; n0 < n; n0 += kRowsPerTile)
      tiles.push_back({e, n0, std::min(n, n0 + kRowsPerTile)});
  }
  if (tiles.empty()) return;
  const auto k = static_cast<std::size_t>(problem.shape.k);
  const double cost = static_cast<double>(groups.pairs.size() + problem.shape.num_experts) /
                      problem.shape.num_experts * kRowsPerTile * static_cast<double>(k);

  parallel_for(tiles.size(), cost, [&](std::size_t t) {
    const TileRef& ref = tiles[t];
    const auto rows = static_cast<std::size_t>(ref.n1 - ref.n0);
    std::vector<float> values(rows * k);
    std::vector<float> mags(magnitudes ? rows * k : 0);
    decode_rows(problem, ref.expert, ref.n0, ref.n1, values, mags);
    const std::size_t begin = groups.offsets[ref.expert];
    const std::size_t end = groups.offsets[ref.expert + 1];
    body({ref.expert, ref.n0, ref.n1, values, mags,
          std::span<const std::int32_t>(groups.pairs).subspan(begin, end - begin)});
  });
}

}  // namespace moejit::ref::operands
