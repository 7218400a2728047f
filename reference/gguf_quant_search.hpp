// Scale searches of ggml's k-quant reference quantizers (make_qx_quants, make_q3_quants,
// make_qkx2_quants), restated with the same f32 arithmetic so the chosen quants agree with ggml's.
#pragma once

#include <cstdint>

namespace moejit::gguf_io {

// Below this largest magnitude a group counts as all zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Symmetric n-value group, levels in [0, 2*nmax) (stored biased by nmax), weights x^2: starts
// from scale max/-nmax and keeps the best of 18 nearby scales by weighted least squares
// (make_qx_quants with rmse_type 1 and no importance weights). Returns the scale.
float fit_symmetric_scan(int n, int nmax, const float* x, std::int8_t* levels);

// Symmetric n-value group, weights x^2: starts from scale max/-nmax, then moves single levels
// while the weighted fit improves, up to five sweeps (make_q3_quants with do_rmse). Levels are
// stored biased by nmax. Returns the scale.
float fit_symmetric_refine(int n, int nmax, const float* x, std::int8_t* levels);

// Parameters of the affine search: candidate inverse scales (rmin + rdelta * step + nmax) /
// (max - min) for step in [0, steps]; error measured as |diff| (use_mad) or diff^2.
struct AffineSearch {
  float rmin;
  float rdelta;
  int steps;
  bool use_mad;
};

// Affine n-value group x ~ scale * level - neg_min with levels in [0, nmax] and min <= 0,
// weighted least squares over the candidate scales (make_qkx2_quants). Returns the scale and
// stores the (non-negative) minimum to subtract in neg_min.
float fit_affine(int n, int nmax, const float* x, const float* weights, std::uint8_t* levels,
                 float& neg_min, const AffineSearch& search);

}  // namespace moejit::gguf_io
