// The double-precision evaluation of every variant's definition, with the per-element magnitude
// S = |s| * Σ |a_k| |w_k| that scales the precision guarantee's bound.
#include <cmath>

#include "moejit/reference.hpp"
#include "reference/moe_operands.hpp"

namespace moejit::ref {
namespace {

constexpr int kLanes = 4;

// Σ a_k w_k and Σ |a_k| m_k in double for two weight rows at once (each activation is loaded once
// for both). The operands are exact f32 values, so every product is exact; only the sums round
// (relative error about K * 2^-53, far below any f32 bound).
void dot2_double(const double* a, const double* abs_a, const double* w0, const double* m0,
                 const double* w1, const double* m1, std::size_t k, double out[4]) {
  double v0[kLanes] = {}, s0[kLanes] = {}, v1[kLanes] = {}, s1[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      v0[j] += a[i + j] * w0[i + j];
      s0[j] += abs_a[i + j] * m0[i + j];
      v1[j] += a[i + j] * w1[i + j];
      s1[j] += abs_a[i + j] * m1[i + j];
    }
  for (int j = 0; i + j < k; ++j) {
    v0[j] += a[i + j] * w0[i + j];
    s0[j] += abs_a[i + j] * m0[i + j];
    v1[j] += a[i + j] * w1[i + j];
    s1[j] += abs_a[i + j] * m1[i + j];
  }
  auto sum = [](const double* x) { return (x[0] + x[1]) + (x[2] + x[3]); };
  out[0] = sum(v0);
  out[1] = sum(s0);
  out[2] = sum(v1);
  out[3] = sum(s1);
}

}  // namespace

MoeDouble moe_double(const MoeProblem& problem) {
  const operands::EntryGroups groups = operands::validate_and_group(problem);
  const auto pairs = static_cast<std::size_t>(problem.shape.num_pairs());
  const auto n = static_cast<std::size_t>(problem.shape.n);
  const auto k = static_cast<std::size_t>(problem.shape.k);

  MoeDouble r;
  r.shape = problem.shape;
  r.value.assign(pairs * n, 0.0);
  r.magnitude.assign(pairs * n, 0.0);
  r.row_written.assign(pairs, 0);
  for (const std::int32_t p : groups.pairs) r.row_written[static_cast<std::size_t>(p)] = 1;

  const std::vector<float> acts = operands::activation_values(problem);
  operands::for_each_tile(problem, groups, true, [&](const operands::WeightTile& t) {
    const auto rows = static_cast<std::size_t>(t.n1 - t.n0);
    const std::vector<double> w(t.values.begin(), t.values.end());
    const std::vector<double> m(t.magnitudes.begin(), t.magnitudes.end());
    std::vector<double> a(k);
    std::vector<double> abs_a(k);
    for (const std::int32_t p : t.pairs) {
      const float* x = acts.data() + static_cast<std::size_t>(operands::input_row(problem, p)) * k;
      for (std::size_t i = 0; i < k; ++i) {
        a[i] = x[i];
        abs_a[i] = std::fabs(a[i]);
      }
      const double s = operands::pair_scale(problem, p);
      for (std::size_t row = 0; row < rows; row += 2) {
        // An odd last row is paired with itself.
        const std::size_t row1 = row + 1 < rows ? row + 1 : row;
        double sums[4];
        dot2_double(a.data(), abs_a.data(), w.data() + row * k, m.data() + row * k,
                    w.data() + row1 * k, m.data() + row1 * k, k, sums);
        const std::size_t at = static_cast<std::size_t>(p) * n + t.n0 + row;
        r.value[at] = s * sums[0];
        r.magnitude[at] = std::fabs(s) * sums[1];
        if (row1 != row) {
          r.value[at + 1] = s * sums[2];
          r.magnitude[at + 1] = std::fabs(s) * sums[3];
        }
      }
    }
  });
  return r;
}

}  // namespace moejit::ref
