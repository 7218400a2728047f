// The precision guarantee of each MoE variant (what is rounded where, and the per-element error
// bound against the double-precision reference) and the check of an output against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "moejit/reference.hpp"
#include "moejit/types.hpp"

namespace moejit {

// Per element of the output, with y_ref the exact value of the variant's definition and S its
// magnitude (moejit::ref::MoeDouble):
//   |y - y_ref| <= accumulation_steps * epsilon * S
//                  + output_ulps * ulp_element(|y_ref| + accumulation_steps * epsilon * S)
//                  + absolute_floor
struct PrecisionGuarantee {
  MoeVariant variant = MoeVariant::Wmma;
  ElementKind element = ElementKind::F16;
  int k = 0;
  double epsilon = 0;             // f32 machine epsilon, 2^-23
  double accumulation_steps = 0;  // ceil(K / 16) + 32 (see description)
  double output_ulps = 0;         // 0.5 for Wmma (one rounding to the element type), else 0
  double absolute_floor = 0;      // accumulation_steps * 2^-126 (subnormals flushed per step)
  std::string description;        // what is rounded where, and the bound with its numbers

  // The largest |y - y_ref| allowed for an element with exact value reference and magnitude S.
  double bound(double reference, double magnitude) const;
};

// The guarantee every kernel of this variant, element type and K meets. Throws
// Error(InvalidProblem) if k <= 0 or the element kind is not one the variant takes (ScalarGguf:
// F32; Wmma, WmmaGguf: F16 or Bf16).
PrecisionGuarantee precision_guarantee(MoeVariant variant, ElementKind element, int k);

// Spacing of the element type's values at |x| (the ulp; subnormal spacing below the normal
// range). F32, F16 and Bf16.
double element_ulp(ElementKind element, double x);

// The outcome of checking an output against the double reference.
struct CheckResult {
  bool pass = false;
  double max_error_ratio = 0;   // max |y - y_ref| / bound over targeted elements (inf: non-finite)
  std::size_t worst_index = 0;  // flat index p * N + n of that element
  std::size_t worst_row = 0;    // its pair p and column n
  std::size_t worst_col = 0;
  double worst_value = 0;  // y, y_ref and the bound there
  double worst_reference = 0;
  double worst_bound = 0;
  double relative_l2_error = 0;  // ||y - y_ref|| / ||y_ref|| over targeted elements (inf if any
                                 // is non-finite; the absolute norm when ||y_ref|| = 0)
  std::size_t checked = 0;       // elements of rows some valid entry targets
  std::size_t non_finite = 0;    // targeted elements that are NaN or infinite (unwritten NaN fill)
  std::size_t out_of_bound = 0;  // finite targeted elements beyond the bound
  std::size_t disturbed = 0;     // elements of untargeted rows that differ from `initial`
  std::string summary() const;
};

// Checks output ([P, N], values as f32; a Wmma output converted exactly from its element bits)
// against reference. With `initial` (the output's contents before the run), every element of a
// row no valid entry targets must be bit-identical to it. pass = every targeted element is finite
// and within the bound, and no untargeted element changed. Throws Error(InvalidProblem) if a
// size disagrees with reference.shape or the guarantee's k differs from it.
CheckResult check_output(const PrecisionGuarantee& guarantee, const ref::MoeDouble& reference,
                         std::span<const float> output,
                         std::optional<std::span<const float>> initial = std::nullopt);

// The same for an output of element bits (Wmma), decoded with guarantee.element.
CheckResult check_output(const PrecisionGuarantee& guarantee, const ref::MoeDouble& reference,
                         std::span<const std::uint16_t> output,
                         std::optional<std::span<const std::uint16_t>> initial = std::nullopt);

}  // namespace moejit
