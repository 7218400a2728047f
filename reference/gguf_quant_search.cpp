// Scale searches of the k-quant reference quantizers. Every accumulation keeps ggml's order of f32
// operations (a + (w * x) * l, never fused), so ties and near-ties resolve as ggml's do.
#include "reference/gguf_quant_search.hpp"

#include <algorithm>
#include <cmath>

#include "moejit/error.hpp"
#include "reference/gguf_block_io.hpp"

namespace moejit::gguf_io {
namespace {

constexpr int kMaxGroup = 32;  // the k-quants search groups of 16 or 32 values (or 16 scales)

void check_group(int n) {
  if (n < 1 || n > kMaxGroup) {
    throw Error(ErrorCode::Internal, "k-quant scale search: group of " + std::to_string(n) +
                                         " values is outside [1, 32]");
  }
}

// The signed value of largest magnitude (first on ties) and that magnitude.
void signed_max(int n, const float* x, float& max, float& amax) {
  max = 0.0f;
  amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
}

int clamp_level(int l, int lo, int hi) { return std::max(lo, std::min(hi, l)); }

// Weighted sums of the symmetric fit for inverse scale iscale with weights x^2; writes the
// unbiased levels to out.
void symmetric_sums(int n, int nmax, const float* x, float iscale, int* out, float& sumlx,
                    float& suml2) {
  sumlx = 0.0f;
  suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_level(round_to_int(iscale * x[i]), -nmax, nmax - 1);
    out[i] = l;
    const float w = x[i] * x[i];
    const auto lf = static_cast<float>(l);
    sumlx += w * x[i] * lf;
    suml2 += w * lf * lf;
  }
}

}  // namespace

float fit_symmetric_scan(int n, int nmax, const float* x, std::int8_t* levels) {
  check_group(n);
  float max = 0.0f, amax = 0.0f;
  signed_max(n, x, max, amax);
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, std::int8_t{0});
    return 0.0f;
  }
  int best_levels[kMaxGroup];
  int trial[kMaxGroup];
  float sumlx = 0.0f, suml2 = 0.0f;
  symmetric_sums(n, nmax, x, static_cast<float>(-nmax) / max, best_levels, sumlx, suml2);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    symmetric_sums(n, nmax, x, iscale, trial, sumlx, suml2);
    if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
      std::copy(trial, trial + n, best_levels);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  for (int i = 0; i < n; ++i) levels[i] = static_cast<std::int8_t>(best_levels[i] + nmax);
  return scale;
}

float fit_symmetric_refine(int n, int nmax, const float* x, std::int8_t* levels) {
  check_group(n);
  float max = 0.0f, amax = 0.0f;
  signed_max(n, x, max, amax);
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, std::int8_t{0});
    return 0.0f;
  }
  int l[kMaxGroup];
  float sumlx = 0.0f, suml2 = 0.0f;
  symmetric_sums(n, nmax, x, static_cast<float>(-nmax) / max, l, sumlx, suml2);
  for (int sweep = 0; sweep < 5; ++sweep) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const auto old_l = static_cast<float>(l[i]);
      float slx = sumlx - w * x[i] * old_l;
      if (!(slx > 0.0f)) continue;
      float sl2 = suml2 - w * old_l * old_l;
      const int new_l = clamp_level(round_to_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == l[i]) continue;
      const auto new_lf = static_cast<float>(new_l);
      slx += w * x[i] * new_lf;
      sl2 += w * new_lf * new_lf;
      if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
        l[i] = new_l;
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) levels[i] = static_cast<std::int8_t>(l[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float fit_affine(int n, int nmax, const float* x, const float* weights, std::uint8_t* levels,
                 float& neg_min, const AffineSearch& search) {
  check_group(n);
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0.0f) min = 0.0f;
  if (max == min) {
    std::fill(levels, levels + n, std::uint8_t{0});
    neg_min = -min;
    return 0.0f;
  }
  auto error_of = [&](float scale, float offset, const std::uint8_t* l) {
    float error = 0.0f;
    for (int i = 0; i < n; ++i) {
      float diff = scale * static_cast<float>(l[i]) + offset - x[i];
      diff = search.use_mad ? std::fabs(diff) : diff * diff;
      error += weights[i] * diff;
    }
    return error;
  };
  auto level_of = [&](float iscale, int i) {
    return clamp_level(round_to_int(iscale * (x[i] - min)), 0, nmax);
  };

  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1.0f / iscale;
  for (int i = 0; i < n; ++i) levels[i] = static_cast<std::uint8_t>(level_of(iscale, i));
  float best_error = error_of(scale, min, levels);
  if (search.steps < 1) {
    neg_min = -min;
    return scale;
  }
  std::uint8_t trial[kMaxGroup];
  // Each candidate rounds against the best (scale, min) so far: a better fit moves min, and with
  // it the range and the offset of the next candidates.
  for (int step = 0; step <= search.steps; ++step) {
    iscale = (search.rmin + search.rdelta * static_cast<float>(step) + static_cast<float>(nmax)) /
             (max - min);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = level_of(iscale, i);
      trial[i] = static_cast<std::uint8_t>(l);
      const auto lf = static_cast<float>(l);
      sum_l += weights[i] * lf;
      sum_l2 += weights[i] * lf * lf;
      sum_xl += weights[i] * lf * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0.0f)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.0f) {
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    const float error = error_of(this_scale, this_min, trial);
    if (error < best_error) {
      std::copy(trial, trial + n, levels);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  neg_min = -min;
  return scale;
}

}  // namespace moejit::gguf_io
