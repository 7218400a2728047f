// The k-quant encoders (q2_k q3_k q4_k q5_k q6_k) of ggml's quantize_row_*_ref: fit every
// sub-block, quantize the sub-block scales against one super-block scale, requantize, pack.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "reference/gguf_block_io.hpp"
#include "reference/gguf_quant_search.hpp"

namespace moejit::gguf_io {
namespace {

using u8 = std::uint8_t;

// Packs 256 two-bit levels: element 128h + 32j + l goes to bits 2j of qs[32h + l].
void pack_two_bit(const u8* levels, u8* qs) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      int byte = 0;
      for (int j = 0; j < 4; ++j) byte |= (levels[128 * h + 32 * j + l] & 3) << (2 * j);
      qs[32 * h + l] = static_cast<u8>(byte);
    }
  }
}

// Q2_K / Q4_K / Q5_K requantization: level = nearest((x + m) / d), clamped, for one sub-block
// with d = D * sc and m = M * mn; a zero d keeps the levels of the search.
void requantize_affine(const float* x, int n, float d_all, int sc, float m_all, int mn, int top,
                       u8* levels) {
  const float d = d_all * static_cast<float>(sc);
  if (d == 0.0f) return;
  const float m = m_all * static_cast<float>(mn);
  for (int i = 0; i < n; ++i) {
    levels[i] = static_cast<u8>(std::clamp(round_to_int((x[i] + m) / d), 0, top));
  }
}

// Symmetric requantization (Q3_K, Q6_K): level = nearest(x / d) + bias, clamped to the range.
void requantize_symmetric(const float* x, float d, int lo, int hi, std::int8_t* levels) {
  if (d == 0.0f) return;
  for (int i = 0; i < 16; ++i) {
    levels[i] = static_cast<std::int8_t>(std::clamp(round_to_int(x[i] / d), lo, hi) - lo);
  }
}

// Packs eight 6-bit scales and mins into the 12 scale bytes of Q4_K / Q5_K (the inverse of
// unpack_scale_min_k4).
void pack_scale_min_k4(const int* sc, const int* mn, u8* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<u8>(sc[j]);
    s[j + 4] = static_cast<u8>(mn[j]);
  }
  for (int j = 4; j < 8; ++j) {
    s[j + 4] = static_cast<u8>((sc[j] & 0x0F) | ((mn[j] & 0x0F) << 4));
    s[j - 4] = static_cast<u8>(s[j - 4] | ((sc[j] >> 4) << 6));
    s[j] = static_cast<u8>(s[j] | ((mn[j] >> 4) << 6));
  }
}

// Shared body of Q4_K and Q5_K: eight 32-value sub-blocks with 6-bit scales and mins.
void encode_q45_k(const float* x, bool five_bit, u8* block) {
  const int top = five_bit ? 31 : 15;
  const AffineSearch search =
      five_bit ? AffineSearch{-0.5f, 0.1f, 15, false} : AffineSearch{-1.0f, 0.1f, 20, false};
  u8 levels[kSuperBlock];
  float scales[8], mins[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32.0f);
    float weights[32];
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_affine(32, top, xs, weights, levels + 32 * j, mins[j], search);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    // ggml stores the rounded values in uint8_t before capping them at 63.
    sc[j] = std::min(63, static_cast<int>(static_cast<u8>(round_to_int(inv_scale * scales[j]))));
    mn[j] = std::min(63, static_cast<int>(static_cast<u8>(round_to_int(inv_min * mins[j]))));
  }
  const int off_scales = five_bit ? q5_k::kScales : q4_k::kScales;
  const int off_d = five_bit ? q5_k::kD : q4_k::kD;
  const int off_dmin = five_bit ? q5_k::kDmin : q4_k::kDmin;
  pack_scale_min_k4(sc, mn, block + off_scales);
  store_half(block + off_d, max_scale / 63.0f);
  store_half(block + off_dmin, max_min / 63.0f);
  const float d_all = load_half(block + off_d);
  const float m_all = load_half(block + off_dmin);
  for (int j = 0; j < 8; ++j) {
    int s = 0, m = 0;
    unpack_scale_min_k4(block + off_scales, j, s, m);
    requantize_affine(x + 32 * j, 32, d_all, s, m_all, m, top, levels + 32 * j);
  }
  // Element 64c + 32t + l: nibble t of qs[32c + l]; Q5_K puts bit 4 in qh[l] at bit 2c + t.
  u8* qs = block + (five_bit ? q5_k::kQs : q4_k::kQs);
  if (five_bit) std::fill(block + q5_k::kQh, block + q5_k::kQh + 32, u8{0});
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int lo = levels[64 * c + l];
      const int hi = levels[64 * c + 32 + l];
      qs[32 * c + l] = static_cast<u8>((lo & 0x0F) | ((hi & 0x0F) << 4));
      if (five_bit) {
        u8& qh = block[q5_k::kQh + l];
        qh = static_cast<u8>(qh | (((lo >> 4) & 1) << (2 * c)) | (((hi >> 4) & 1) << (2 * c + 1)));
      }
    }
  }
}

}  // namespace

void encode_q2_k(const float* x, u8* block) {
  constexpr float kScaleSteps = 15.0f;  // 4-bit sub-block scales and mins
  u8 levels[kSuperBlock];
  float scales[16], mins[16];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 16; ++j) {
    float weights[16];
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = fit_affine(16, 3, x + 16 * j, weights, levels + 16 * j, mins[j],
                           AffineSearch{-0.5f, 0.1f, 15, true});
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  u8* packed = block + q2_k::kScales;
  if (max_scale > 0.0f) {
    const float iscale = kScaleSteps / max_scale;
    for (int j = 0; j < 16; ++j) packed[j] = static_cast<u8>(round_to_int(iscale * scales[j]));
    store_half(block + q2_k::kD, max_scale / kScaleSteps);
  } else {
    std::fill(packed, packed + 16, u8{0});
    store_half(block + q2_k::kD, 0.0f);
  }
  if (max_min > 0.0f) {
    const float iscale = kScaleSteps / max_min;
    for (int j = 0; j < 16; ++j) {
      packed[j] = static_cast<u8>(packed[j] | (round_to_int(iscale * mins[j]) << 4));
    }
    store_half(block + q2_k::kDmin, max_min / kScaleSteps);
  } else {
    store_half(block + q2_k::kDmin, 0.0f);
  }
  const float d_all = load_half(block + q2_k::kD);
  const float m_all = load_half(block + q2_k::kDmin);
  for (int j = 0; j < 16; ++j) {
    requantize_affine(x + 16 * j, 16, d_all, packed[j] & 0x0F, m_all, packed[j] >> 4, 3,
                      levels + 16 * j);
  }
  pack_two_bit(levels, block + q2_k::kQs);
}

void encode_q3_k(const float* x, u8* block) {
  std::int8_t levels[kSuperBlock];
  float scales[16];
  float max_scale = 0.0f, amax = 0.0f;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_symmetric_refine(16, 4, x + 16 * j, levels + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  u8* packed = block + q3_k::kScales;
  std::fill(packed, packed + 12, u8{0});
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      // ggml keeps the rounded scale in an int8_t before clamping it to [-32, 31].
      const auto rounded = static_cast<std::int8_t>(round_to_int(iscale * scales[j]));
      const int l = std::clamp(static_cast<int>(rounded), -32, 31) + 32;
      if (j < 8) {
        packed[j] = static_cast<u8>(l & 0x0F);
      } else {
        packed[j - 8] = static_cast<u8>(packed[j - 8] | ((l & 0x0F) << 4));
      }
      packed[8 + j % 4] = static_cast<u8>(packed[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
    }
    store_half(block + q3_k::kD, 1.0f / iscale);
  } else {
    store_half(block + q3_k::kD, 0.0f);
  }
  const float d_all = load_half(block + q3_k::kD);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * static_cast<float>(unpack_scale_q3_k(packed, j) - 32);
    requantize_symmetric(x + 16 * j, d, -4, 3, levels + 16 * j);
  }
  // Element i keeps its third bit in hmask[i % 32] at bit i / 32, its low two bits in qs.
  u8* hmask = block + q3_k::kHmask;
  std::fill(hmask, hmask + 32, u8{0});
  u8 low[kSuperBlock];
  for (int i = 0; i < kSuperBlock; ++i) {
    int level = levels[i];
    if (level > 3) {
      hmask[i % 32] = static_cast<u8>(hmask[i % 32] | (1 << (i / 32)));
      level -= 4;
    }
    low[i] = static_cast<u8>(level);
  }
  pack_two_bit(low, block + q3_k::kQs);
}

void encode_q4_k(const float* x, u8* block) { encode_q45_k(x, false, block); }
void encode_q5_k(const float* x, u8* block) { encode_q45_k(x, true, block); }

void encode_q6_k(const float* x, u8* block) {
  std::int8_t levels[kSuperBlock];
  float scales[16];
  float max_scale = 0.0f, max_abs_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_symmetric_scan(16, 32, x + 16 * j, levels + 16 * j);
    if (std::fabs(scales[j]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(block, 0, static_cast<std::size_t>(bytes_of(GgufBlockFormat::Q6_K)));
    store_half(block + q6_k::kD, 0.0f);
    return;
  }
  const float iscale = -128.0f / max_scale;
  store_half(block + q6_k::kD, 1.0f / iscale);
  auto* sc = reinterpret_cast<std::int8_t*>(block + q6_k::kScales);
  for (int j = 0; j < 16; ++j) {
    sc[j] = static_cast<std::int8_t>(std::min(127, round_to_int(iscale * scales[j])));
  }
  const float d_all = load_half(block + q6_k::kD);
  for (int j = 0; j < 16; ++j) {
    requantize_symmetric(x + 16 * j, d_all * static_cast<float>(sc[j]), -32, 31, levels + 16 * j);
  }
  // Element 128h + 32r + l: low nibble in ql[64h + 32(r % 2) + l] (high half when r >= 2),
  // top two bits at 2r of qh[32h + l].
  u8* ql = block + q6_k::kQl;
  u8* qh = block + q6_k::kQh;
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      int low0 = 0, low1 = 0, high = 0;
      for (int r = 0; r < 4; ++r) {
        const int level = levels[128 * h + 32 * r + l];
        const int nibble = (level & 0x0F) << (r < 2 ? 0 : 4);
        (r % 2 == 0 ? low0 : low1) |= nibble;
        high |= ((level >> 4) & 3) << (2 * r);
      }
      ql[64 * h + l] = static_cast<u8>(low0);
      ql[64 * h + 32 + l] = static_cast<u8>(low1);
      qh[32 * h + l] = static_cast<u8>(high);
    }
  }
}

}  // namespace moejit::gguf_io
