// Dequantization known answers: blocks assembled field by field from the GGUF format definitions,
// expected values computed here from each format's formula, compared bit for bit.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "gguf_test_util.hpp"
#include "moejit/gguf.hpp"

namespace moejit {
namespace {

using testing_gguf::f32_add;
using testing_gguf::f32_mul;
using testing_gguf::f32_sub;
using testing_gguf::half_bits_value;
using testing_gguf::put_u16;
using testing_gguf::Rng;
using u8 = std::uint8_t;

// One block and the values its format definition says it holds.
struct Case {
  std::vector<u8> bytes;
  std::vector<float> expected;
};

// Picks a field value: random, or pinned to an end of its range to reach the extremes.
enum class Fill { Random, Low, High };
int pick(Rng& rng, Fill fill, int lo, int hi) {
  if (fill == Fill::Low) return lo;
  if (fill == Fill::High) return hi;
  return rng.range(lo, hi);
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1: element i < 16 in the low nibble of qs[i], i >= 16 in the high
// nibble of qs[i - 16]; the fifth bit of element i is bit i of the little-endian u32 qh.
Case legacy_case(Rng& rng, Fill fill, int bits, bool with_min) {
  const int qs_off = 2 + (with_min ? 2 : 0) + (bits == 5 ? 4 : 0);
  const int qh_off = with_min ? 4 : 2;
  Case c{std::vector<u8>(static_cast<std::size_t>(qs_off + 16), 0), {}};
  const std::uint16_t d_bits = rng.scale_half(), m_bits = rng.scale_half();
  put_u16(c.bytes.data(), d_bits);
  if (with_min) put_u16(c.bytes.data() + 2, m_bits);
  const float d = half_bits_value(d_bits), m = half_bits_value(m_bits);
  for (int i = 0; i < 32; ++i) {
    const int q = pick(rng, fill, 0, (1 << bits) - 1);
    u8& nibble_byte = c.bytes[static_cast<std::size_t>(qs_off + i % 16)];
    nibble_byte = static_cast<u8>(nibble_byte | ((q & 0x0F) << (i < 16 ? 0 : 4)));
    if (bits == 5 && (q & 0x10)) {
      c.bytes[static_cast<std::size_t>(qh_off + i / 8)] |= static_cast<u8>(1u << (i % 8));
    }
    const int centered = with_min ? q : q - (1 << (bits - 1));
    const float scaled = f32_mul(static_cast<float>(centered), d);
    c.expected.push_back(with_min ? f32_add(scaled, m) : scaled);
  }
  return c;
}

// Q8_0 (d, qs[32]) and Q8_1 (d, s, qs[32]): y = qs[i] * d; s plays no part.
Case int8_case(Rng& rng, Fill fill, bool with_sum) {
  const int qs_off = with_sum ? 4 : 2;
  Case c{std::vector<u8>(static_cast<std::size_t>(qs_off + 32), 0), {}};
  const std::uint16_t d_bits = rng.scale_half();
  put_u16(c.bytes.data(), d_bits);
  if (with_sum) put_u16(c.bytes.data() + 2, rng.scale_half());
  for (int i = 0; i < 32; ++i) {
    const int q = pick(rng, fill, -128, 127);
    c.bytes[static_cast<std::size_t>(qs_off + i)] = static_cast<u8>(static_cast<std::int8_t>(q));
    c.expected.push_back(f32_mul(static_cast<float>(q), half_bits_value(d_bits)));
  }
  return c;
}

// Q2_K: i = 128h + 32j + l, q at bits 2j of qs[32h + l]; scales[i/16] = sc | mn << 4.
Case q2_k_case(Rng& rng, Fill fill) {
  Case c{std::vector<u8>(84, 0), {}};
  const std::uint16_t d_bits = rng.scale_half(), m_bits = rng.scale_half();
  put_u16(c.bytes.data() + 80, d_bits);
  put_u16(c.bytes.data() + 82, m_bits);
  int sc[16], mn[16];
  for (int s = 0; s < 16; ++s) {
    sc[s] = pick(rng, fill, 0, 15);
    mn[s] = pick(rng, fill, 0, 15);
    c.bytes[static_cast<std::size_t>(s)] = static_cast<u8>(sc[s] | (mn[s] << 4));
  }
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * j + l;
        const int q = pick(rng, fill, 0, 3);
        c.bytes[static_cast<std::size_t>(16 + 32 * h + l)] |= static_cast<u8>(q << (2 * j));
        const float dl = f32_mul(half_bits_value(d_bits), static_cast<float>(sc[i / 16]));
        const float ml = f32_mul(half_bits_value(m_bits), static_cast<float>(mn[i / 16]));
        c.expected.push_back(f32_sub(f32_mul(dl, static_cast<float>(q)), ml));
      }
    }
  }
  return c;
}

// Q3_K 6-bit scale t, written into the 12 scale bytes at offset 96 by its four ranges.
void put_q3_k_scale(u8* s, int t, int value) {
  const int low = value & 0x0F, high = value >> 4;
  if (t < 4) {
    s[t] |= static_cast<u8>(low);
    s[8 + t] |= static_cast<u8>(high << 0);
  } else if (t < 8) {
    s[t] |= static_cast<u8>(low);
    s[8 + t - 4] |= static_cast<u8>(high << 2);
  } else if (t < 12) {
    s[t - 8] |= static_cast<u8>(low << 4);
    s[8 + t - 8] |= static_cast<u8>(high << 4);
  } else {
    s[t - 8] |= static_cast<u8>(low << 4);
    s[8 + t - 12] |= static_cast<u8>(high << 6);
  }
}

// Q3_K: q in [-4, 3] = lo - (hb ? 0 : 4); lo as Q2_K, hb at bit 4h + j of hmask[l].
Case q3_k_case(Rng& rng, Fill fill) {
  Case c{std::vector<u8>(110, 0), {}};
  const std::uint16_t d_bits = rng.scale_half();
  put_u16(c.bytes.data() + 108, d_bits);
  int scale[16];
  for (int t = 0; t < 16; ++t) {
    scale[t] = pick(rng, fill, 0, 63);
    put_q3_k_scale(c.bytes.data() + 96, t, scale[t]);
  }
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * j + l;
        const int q = pick(rng, fill, -4, 3);
        const int hb = q >= 0 ? 1 : 0;
        const int lo = q + (hb ? 0 : 4);
        c.bytes[static_cast<std::size_t>(32 + 32 * h + l)] |= static_cast<u8>(lo << (2 * j));
        c.bytes[static_cast<std::size_t>(l)] |= static_cast<u8>(hb << (4 * h + j));
        const float dl = f32_mul(half_bits_value(d_bits), static_cast<float>(scale[i / 16] - 32));
        c.expected.push_back(f32_mul(dl, static_cast<float>(q)));
      }
    }
  }
  return c;
}

// Q4_K / Q5_K 6-bit scale and min of sub-block j in the 12 bytes at offset 4, both branches.
void put_scale_min_k4(u8* s, int j, int sc, int mn) {
  if (j < 4) {
    s[j] |= static_cast<u8>(sc);
    s[j + 4] |= static_cast<u8>(mn);
  } else {
    s[j + 4] |= static_cast<u8>((sc & 0x0F) | ((mn & 0x0F) << 4));
    s[j - 4] |= static_cast<u8>((sc >> 4) << 6);
    s[j] |= static_cast<u8>((mn >> 4) << 6);
  }
}

// Q4_K / Q5_K: i = 64c + 32t + l, nibble t of qs[32c + l]; Q5_K: + 16 * bit (i/32) of qh[l].
Case q45_k_case(Rng& rng, Fill fill, bool five_bit) {
  const int qs_off = five_bit ? 48 : 16;
  Case c{std::vector<u8>(five_bit ? 176 : 144, 0), {}};
  const std::uint16_t d_bits = rng.scale_half(), m_bits = rng.scale_half();
  put_u16(c.bytes.data(), d_bits);
  put_u16(c.bytes.data() + 2, m_bits);
  int sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = pick(rng, fill, 0, 63);
    mn[j] = pick(rng, fill, 0, 63);
    put_scale_min_k4(c.bytes.data() + 4, j, sc[j], mn[j]);
  }
  for (int cc = 0; cc < 4; ++cc) {
    for (int t = 0; t < 2; ++t) {
      for (int l = 0; l < 32; ++l) {
        const int i = 64 * cc + 32 * t + l;
        const int q = pick(rng, fill, 0, five_bit ? 31 : 15);
        c.bytes[static_cast<std::size_t>(qs_off + 32 * cc + l)] |=
            static_cast<u8>((q & 0x0F) << (4 * t));
        if (five_bit)
          c.bytes[static_cast<std::size_t>(16 + l)] |= static_cast<u8>((q >> 4) << (i / 32));
        const float dl = f32_mul(half_bits_value(d_bits), static_cast<float>(sc[i / 32]));
        const float ml = f32_mul(half_bits_value(m_bits), static_cast<float>(mn[i / 32]));
        c.expected.push_back(f32_sub(f32_mul(dl, static_cast<float>(q)), ml));
      }
    }
  }
  return c;
}

// Q6_K: i = 128h + 32r + l; the low nibble sits in ql[64h + l] (r = 0), ql[64h + 32 + l]
// (r = 1), the high nibble of ql[64h + l] (r = 2) or ql[64h + 32 + l] (r = 3); the top two bits
// at 2r of qh[32h + l]; q = value - 32; int8 scales.
Case q6_k_case(Rng& rng, Fill fill) {
  Case c{std::vector<u8>(210, 0), {}};
  const std::uint16_t d_bits = rng.scale_half();
  put_u16(c.bytes.data() + 208, d_bits);
  int sc[16];
  for (int s = 0; s < 16; ++s) {
    sc[s] = pick(rng, fill, -128, 127);
    c.bytes[static_cast<std::size_t>(192 + s)] = static_cast<u8>(static_cast<std::int8_t>(sc[s]));
  }
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < 4; ++r) {
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * r + l;
        const int q = pick(rng, fill, -32, 31);
        const int v = q + 32;
        std::size_t ql_index = 0;
        int shift = 0;
        switch (r) {
          case 0:
            ql_index = static_cast<std::size_t>(64 * h + l);
            break;
          case 1:
            ql_index = static_cast<std::size_t>(64 * h + 32 + l);
            break;
          case 2:
            ql_index = static_cast<std::size_t>(64 * h + l);
            shift = 4;
            break;
          default:
            ql_index = static_cast<std::size_t>(64 * h + 32 + l);
            shift = 4;
            break;
        }
        c.bytes[ql_index] |= static_cast<u8>((v & 0x0F) << shift);
        c.bytes[static_cast<std::size_t>(128 + 32 * h + l)] |= static_cast<u8>((v >> 4) << (2 * r));
        const float dl = f32_mul(half_bits_value(d_bits), static_cast<float>(sc[i / 16]));
        c.expected.push_back(f32_mul(dl, static_cast<float>(q)));
      }
    }
  }
  return c;
}

Case make_case(GgufBlockFormat f, Rng& rng, Fill fill) {
  switch (f) {
    case GgufBlockFormat::Q4_0:
      return legacy_case(rng, fill, 4, false);
    case GgufBlockFormat::Q4_1:
      return legacy_case(rng, fill, 4, true);
    case GgufBlockFormat::Q5_0:
      return legacy_case(rng, fill, 5, false);
    case GgufBlockFormat::Q5_1:
      return legacy_case(rng, fill, 5, true);
    case GgufBlockFormat::Q8_0:
      return int8_case(rng, fill, false);
    case GgufBlockFormat::Q8_1:
      return int8_case(rng, fill, true);
    case GgufBlockFormat::Q2_K:
      return q2_k_case(rng, fill);
    case GgufBlockFormat::Q3_K:
      return q3_k_case(rng, fill);
    case GgufBlockFormat::Q4_K:
      return q45_k_case(rng, fill, false);
    case GgufBlockFormat::Q5_K:
      return q45_k_case(rng, fill, true);
    case GgufBlockFormat::Q6_K:
      return q6_k_case(rng, fill);
  }
  return {};
}

class DequantizeKnownAnswer : public ::testing::TestWithParam<GgufBlockFormat> {};

// Many blocks (random fields, then every field at its low and high end) decode bit for bit to the
// formula's values, one block at a time and all blocks in one call.
TEST_P(DequantizeKnownAnswer, FieldByFieldBlocksMatchTheFormula) {
  const GgufBlockFormat f = GetParam();
  const auto& layout = block_layout(f);
  Rng rng(static_cast<std::uint64_t>(layout.ggml_type));
  std::vector<u8> all_bytes;
  std::vector<float> all_expected;
  for (int b = 0; b < 34; ++b) {
    const Fill fill = b == 0 ? Fill::Low : b == 1 ? Fill::High : Fill::Random;
    const Case c = make_case(f, rng, fill);
    ASSERT_EQ(c.bytes.size(), static_cast<std::size_t>(layout.block_bytes));
    ASSERT_EQ(c.expected.size(), static_cast<std::size_t>(layout.block_elems));
    all_bytes.insert(all_bytes.end(), c.bytes.begin(), c.bytes.end());
    all_expected.insert(all_expected.end(), c.expected.begin(), c.expected.end());
  }
  std::vector<float> got(all_expected.size());
  dequantize(f, all_bytes, got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(all_expected[i]))
        << layout.name << " block " << i / layout.block_elems << " element "
        << i % layout.block_elems << ": got " << got[i] << ", expected " << all_expected[i];
  }
}

std::vector<GgufBlockFormat> all_formats() {
  std::vector<GgufBlockFormat> formats;
  for (const auto& layout : kBlockLayouts) formats.push_back(layout.format);
  return formats;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, DequantizeKnownAnswer, ::testing::ValuesIn(all_formats()),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace moejit
