// The precision guarantee of every MoE variant, stated once: what is rounded where, the bound
// against the double reference, and the check of an output against that bound.
#include "moejit/precision.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "moejit/error.hpp"

namespace moejit {
namespace {

// Products added per rounded f32 accumulator update, at most, in every kernel: one k16 MMA step
// of the tensor-core variants, one 16- or 32-value integer group of ScalarGguf.
constexpr int kProductsPerStep = 16;
// Rounding steps beyond the K loop: sums inside one MMA step or group (log2 16 = 4), warp and
// split reductions (5 + 5), block and sub-block scale products (up to 4), the top-k weight (1),
// with margin.
constexpr int kExtraSteps = 32;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidProblem, message);
}

struct ElementFormat {
  int mantissa_bits;   // stored fraction bits
  int min_exponent;    // exponent of the smallest normal value
  double overflow_at;  // |x| from which round-to-nearest gives infinity
};

ElementFormat element_format(ElementKind e) {
  switch (e) {
    case ElementKind::F32:
      return {23, -126, std::ldexp(2.0 - std::ldexp(1.0, -24), 127)};
    case ElementKind::F16:
      return {10, -14, 65520.0};
    case ElementKind::Bf16:
      return {7, -126, std::ldexp(2.0 - std::ldexp(1.0, -8), 127)};
  }
  return {23, -126, std::numeric_limits<double>::infinity()};
}

std::string definition_text(MoeVariant v, ElementKind e, int k) {
  const std::string t(element_name(e));
  std::ostringstream s;
  switch (v) {
    case MoeVariant::ScalarGguf:
      s << "scalar_gguf, K = " << k
        << ": f32 activations, GGUF weights, f32 output. Definition: each 32-value block of an "
           "activation row is quantized to q8_1 exactly as moejit::quantize_q8_1 (d = "
           "half(amax / 127), q = roundf(x * (1 / d))), and a_k = f32(d) * q are the activations "
           "of the product (the quantization is part of the definition, not of the error); w_k "
           "are ggml's dequantized weights. Rounded where: the integer dot product of each "
           "32-value block (of each 16-value scale group for q2_k, q3_k, q6_k) is exact; the "
           "block scales, the min term (scaled from the exact integer sum of the int8 quants, "
           "never from the half-rounded s of the q8_1 block), the sum over blocks in any order "
           "and the top-k weight are f32 operations; the output is f32.";
      break;
    case MoeVariant::Wmma:
      s << "wmma " << t << ", K = " << k << ": " << t << " activations and weights, " << t
        << " output. Rounded where: each product a_k * w_k is exact in f32; the products are "
           "summed in f32 in any order (tensor-core MMA steps into an f32 accumulator); the "
           "top-k weight multiplies the f32 sum once; the result is rounded once to "
        << t << " (round to nearest even), the 0.5 ulp term below.";
      break;
    case MoeVariant::WmmaGguf:
      s << "wmma_gguf " << t << ", K = " << k << ": " << t
        << " activations, GGUF weights, f32 output. Definition: each weight is dequantized "
           "exactly in f32 with ggml's formula (one f32 operation per step, no fused "
           "multiply-add) and rounded once to "
        << t
        << " (nearest even); those rounded values are the w_k of the product, so the kernel's "
           "dequantized tile must equal them bit for bit. Rounded where: each product is exact "
           "in f32; the products are summed in f32 in any order; the top-k weight multiplies "
           "the f32 sum once; the output is f32 with no further rounding.";
      break;
  }
  return s.str();
}

std::string bound_text(const PrecisionGuarantee& g) {
  std::ostringstream s;
  const int steps = static_cast<int>(g.accumulation_steps);
  s << " Bound per element: |y - y_ref| <= " << steps << " * 2^-23 * S";
  if (g.output_ulps > 0)
    s << " + 0.5 * ulp_" << element_name(g.element) << "(|y_ref| + " << steps << " * 2^-23 * S)";
  s << " + " << steps
    << " * 2^-126, where y_ref = s * sum_k a_k * w_k evaluated exactly "
       "(moejit::ref::moe_double) and S = |s| * sum_k |a_k| * |w_k|";
  if (g.variant == MoeVariant::ScalarGguf)
    s << " (for the formats with a min, q4_1 q5_1 q2_k q4_k q5_k, |w_k| counts as |scale part| + "
         "|min part|, the two terms the kernel rounds apart)";
  s << ". " << steps << " = ceil(K / " << kProductsPerStep << ") + " << kExtraSteps
    << " rounding steps: the kernels update each f32 accumulator along K at most once per "
    << kProductsPerStep
    << " products (one k16 tensor-core MMA step, one 16- or 32-value integer group), in any "
       "order of those updates (sequential, tree, split), and "
    << kExtraSteps
    << " more steps cover the sums inside one update, warp and split reductions, scale "
       "products and the top-k weight. Each step is allowed a full f32 epsilon (2^-23, twice "
       "the unit of round-to-nearest), a margin for tensor cores that truncate; the 2^-126 "
       "term lets each step flush a subnormal to zero. A kernel that adds products one at a "
       "time into a single f32 sum has a worst case of about K / 2 such steps and needs this "
       "bound revisited. A wrong weight, block, scale or top-k weight moves an element by "
       "about (values affected / K) * S or more, far beyond the bound for practical K.";
  return s.str();
}

// Round-to-nearest of a value past the element's range gives an infinity of its sign.
bool overflow_matches(const PrecisionGuarantee& g, double y, double ref, double acc) {
  if (g.output_ulps <= 0 || !std::isinf(y) || !std::isfinite(ref)) return false;
  return std::signbit(y) == std::signbit(ref) &&
         std::fabs(ref) + acc >= element_format(g.element).overflow_at;
}

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

template <typename T, typename Decode>
CheckResult check(const PrecisionGuarantee& g, const ref::MoeDouble& reference,
                  std::span<const T> output, std::optional<std::span<const T>> initial,
                  Decode decode) {
  const auto pairs = static_cast<std::size_t>(reference.shape.num_pairs());
  const auto n = static_cast<std::size_t>(reference.shape.n);
  if (g.k != reference.shape.k)
    invalid("the guarantee is for K = " + std::to_string(g.k) +
            " but the reference has K = " + std::to_string(reference.shape.k));
  if (reference.value.size() != pairs * n || reference.magnitude.size() != pairs * n ||
      reference.row_written.size() != pairs)
    invalid("reference vectors disagree with reference.shape; build it with moe_double");
  if (output.size() != pairs * n)
    invalid("output has " + std::to_string(output.size()) + " elements but the reference has " +
            std::to_string(pairs * n) + " (P * n)");
  if (initial && initial->size() != pairs * n)
    invalid("initial has " + std::to_string(initial->size()) + " elements but output has " +
            std::to_string(pairs * n));

  CheckResult r;
  double err2 = 0;
  double ref2 = 0;
  r.max_error_ratio = -1;
  for (std::size_t p = 0; p < pairs; ++p) {
    for (std::size_t c = 0; c < n; ++c) {
      const std::size_t i = p * n + c;
      if (!reference.row_written[p]) {
        if (initial && !same_bits(output[i], (*initial)[i])) ++r.disturbed;
        continue;
      }
      ++r.checked;
      const double y = decode(output[i]);
      const double y_ref = reference.value[i];
      const double bound = g.bound(y_ref, reference.magnitude[i]);
      double ratio = 0;
      if (!std::isfinite(y)) {
        const double acc = g.accumulation_steps * g.epsilon * reference.magnitude[i];
        if (!overflow_matches(g, y, y_ref, acc)) {
          ++r.non_finite;
          ratio = std::numeric_limits<double>::infinity();
        }
      } else {
        const double err = std::fabs(y - y_ref);
        ratio = std::isfinite(y_ref) ? err / bound : std::numeric_limits<double>::infinity();
        if (!(ratio <= 1.0)) ++r.out_of_bound;
        if (std::isfinite(y_ref)) {
          err2 += err * err;
          ref2 += y_ref * y_ref;
        }
      }
      if (ratio > r.max_error_ratio) {
        r.max_error_ratio = ratio;
        r.worst_index = i;
        r.worst_row = p;
        r.worst_col = c;
        r.worst_value = y;
        r.worst_reference = y_ref;
        r.worst_bound = bound;
      }
    }
  }
  if (r.max_error_ratio < 0) r.max_error_ratio = 0;
  r.relative_l2_error = r.non_finite > 0 ? std::numeric_limits<double>::infinity()
                        : ref2 > 0       ? std::sqrt(err2 / ref2)
                                         : std::sqrt(err2);
  r.pass = r.non_finite == 0 && r.out_of_bound == 0 && r.disturbed == 0;
  return r;
}

}  // namespace

double element_ulp(ElementKind element, double x) {
  const ElementFormat f = element_format(element);
  const double a = std::fabs(x);
  if (!std::isfinite(a)) return a;
  if (a < std::ldexp(1.0, f.min_exponent)) return std::ldexp(1.0, f.min_exponent - f.mantissa_bits);
  int exp = 0;
  std::frexp(a, &exp);  // a = m * 2^exp, m in [0.5, 1)
  return std::ldexp(1.0, exp - 1 - f.mantissa_bits);
}

double PrecisionGuarantee::bound(double reference, double magnitude) const {
  const double acc = accumulation_steps * epsilon * magnitude;
  const double out =
      output_ulps > 0 ? output_ulps * element_ulp(element, std::fabs(reference) + acc) : 0.0;
  return acc + out + absolute_floor;
}

PrecisionGuarantee precision_guarantee(MoeVariant variant, ElementKind element, int k) {
  if (k <= 0) invalid("k (d_model) is " + std::to_string(k) + "; use > 0");
  if (variant == MoeVariant::ScalarGguf && element != ElementKind::F32)
    invalid("scalar_gguf takes f32 activations, not " + std::string(element_name(element)));
  if (variant != MoeVariant::ScalarGguf && element == ElementKind::F32)
    invalid(std::string(variant_name(variant)) + " takes f16 or bf16, not f32");

  PrecisionGuarantee g;
  g.variant = variant;
  g.element = element;
  g.k = k;
  g.epsilon = std::numeric_limits<float>::epsilon();
  g.accumulation_steps =
      static_cast<double>((k + kProductsPerStep - 1) / kProductsPerStep) + kExtraSteps;
  g.output_ulps = variant == MoeVariant::Wmma ? 0.5 : 0.0;
  g.absolute_floor = g.accumulation_steps * static_cast<double>(std::numeric_limits<float>::min());
  g.description = definition_text(variant, element, k) + bound_text(g);
  return g;
}

CheckResult check_output(const PrecisionGuarantee& guarantee, const ref::MoeDouble& reference,
                         std::span<const float> output,
                         std::optional<std::span<const float>> initial) {
  return check<float>(guarantee, reference, output, initial,
                      [](float v) { return static_cast<double>(v); });
}

CheckResult check_output(const PrecisionGuarantee& guarantee, const ref::MoeDouble& reference,
                         std::span<const std::uint16_t> output,
                         std::optional<std::span<const std::uint16_t>> initial) {
  if (guarantee.element == ElementKind::F32)
    invalid("an output of 16-bit element bits needs an f16 or bf16 guarantee, not f32");
  return check<std::uint16_t>(guarantee, reference, output, initial, [&](std::uint16_t b) {
    return static_cast<double>(ref::element_to_float(b, guarantee.element));
  });
}

std::string CheckResult::summary() const {
  std::ostringstream s;
  s << (pass ? "PASS" : "FAIL") << ": max error " << max_error_ratio << " of the bound at row "
    << worst_row << ", column " << worst_col << " (y = " << worst_value
    << ", y_ref = " << worst_reference << ", bound = " << worst_bound << "); relative L2 error "
    << relative_l2_error << "; " << checked << " checked, " << non_finite << " non-finite, "
    << out_of_bound << " out of bound, " << disturbed << " untargeted elements changed";
  return s.str();
}

}  // namespace moejit
