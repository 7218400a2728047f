// Dequantization literals: single blocks written byte by byte, with the expected values worked
// out by hand from each format's formula in the comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gguf_test_util.hpp"
#include "moejit/gguf.hpp"

namespace moejit {
namespace {

using testing_gguf::put_u16;
using u8 = std::uint8_t;

std::vector<float> decode_one(GgufBlockFormat f, const std::vector<u8>& bytes) {
  std::vector<float> out(static_cast<std::size_t>(block_layout(f).block_elems));
  dequantize(f, bytes, out);
  return out;
}

TEST(DequantizeLiteral, LegacyFormats) {
  std::vector<u8> q4_0(18, 0x88);  // every nibble 8: zero
  put_u16(q4_0.data(), 0x3800);    // d = 0.5
  q4_0[2] = 0x1F;                  // y[0] = (15 - 8) * 0.5, y[16] = (1 - 8) * 0.5
  auto y = decode_one(GgufBlockFormat::Q4_0, q4_0);
  EXPECT_EQ(y[0], 3.5f);
  EXPECT_EQ(y[16], -3.5f);
  EXPECT_EQ(y[1], 0.0f);

  std::vector<u8> q4_1(20, 0);
  put_u16(q4_1.data(), 0x3800);      // d = 0.5
  put_u16(q4_1.data() + 2, 0xBC00);  // m = -1
  q4_1[4 + 3] = 0xA2;                // y[3] = 2 * 0.5 - 1, y[19] = 10 * 0.5 - 1
  y = decode_one(GgufBlockFormat::Q4_1, q4_1);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[19], 4.0f);
  EXPECT_EQ(y[0], -1.0f);

  std::vector<u8> q5_0(22, 0);
  put_u16(q5_0.data(), 0x3C00);  // d = 1
  q5_0[2] = 0x01;                // qh bit 0
  q5_0[5] = 0x80;                // qh bit 31
  q5_0[6 + 15] = 0xF0;           // element 31: nibble 15
  y = decode_one(GgufBlockFormat::Q5_0, q5_0);
  EXPECT_EQ(y[0], 0.0f);     // (0 | 16) - 16
  EXPECT_EQ(y[15], -16.0f);  // (0 | 0) - 16
  EXPECT_EQ(y[16], -16.0f);  // bit 16 clear
  EXPECT_EQ(y[31], 15.0f);   // (15 | 16) - 16

  std::vector<u8> q5_1(24, 0);
  put_u16(q5_1.data(), 0x4000);      // d = 2
  put_u16(q5_1.data() + 2, 0x3C00);  // m = 1
  q5_1[4 + 2] = 0x10;                // qh bit 20
  q5_1[8 + 4] = 0x3C;                // element 4: 12, element 20: 3 | 16
  y = decode_one(GgufBlockFormat::Q5_1, q5_1);
  EXPECT_EQ(y[4], 25.0f);   // 12 * 2 + 1
  EXPECT_EQ(y[20], 39.0f);  // 19 * 2 + 1

  std::vector<u8> q8_0(34, 0);
  put_u16(q8_0.data(), 0x3400);  // d = 0.25
  q8_0[2 + 5] = 0x80;            // -128
  q8_0[2 + 31] = 0x7F;           // 127
  y = decode_one(GgufBlockFormat::Q8_0, q8_0);
  EXPECT_EQ(y[5], -32.0f);
  EXPECT_EQ(y[31], 31.75f);
}

TEST(DequantizeLiteral, Q2KAndQ3K) {
  std::vector<u8> q2(84, 0);
  put_u16(q2.data() + 80, 0x3C00);  // d = 1
  put_u16(q2.data() + 82, 0x3800);  // dmin = 0.5
  q2[0] = 0x23;                     // sub-block 0: sc 3, mn 2
  q2[2] = 0x11;                     // sub-block 2 (elements 32..47): sc 1, mn 1
  q2[4] = 0x05;                     // sub-block 4 (64..79): sc 5, mn 0
  q2[6] = 0xF1;                     // sub-block 6 (96..111): sc 1, mn 15
  q2[16] = 0xE4;                    // qs[0]: q = 0, 1, 2, 3 for j = 0..3
  const auto y2 = decode_one(GgufBlockFormat::Q2_K, q2);
  EXPECT_EQ(y2[0], -1.0f);   // 3 * 0 - 0.5 * 2
  EXPECT_EQ(y2[32], 0.5f);   // 1 * 1 - 0.5 * 1
  EXPECT_EQ(y2[64], 10.0f);  // 5 * 2 - 0
  EXPECT_EQ(y2[96], -4.5f);  // 1 * 3 - 0.5 * 15

  std::vector<u8> q3(110, 0);
  put_u16(q3.data() + 108, 0x3800);  // d = 0.5
  q3[0] = 0x01;                      // hmask[0] bit 0: element 0 has its high bit
  q3[32] = 0x03;                     // qs[0]: element 0 low bits 3, element 32 low bits 0
  q3[96 + 0] = 0x02;                 // S[0] low nibble 2
  q3[96 + 8] = 0x02 | 0xC0;          // S[0] high bits 2 (S[0] = 34); S[12] high bits 3
  q3[96 + 4] = 0x70;                 // S[12] low nibble 7 (S[12] = 55)
  q3[32 + 40] = 0x10;                // element 200 = 128 + 64 + 8: low bits 1 at bits 4..5
  q3[8] = 0x40;                      // hmask[8] bit 6 = 4h + j for h = 1, j = 2
  const auto y3 = decode_one(GgufBlockFormat::Q3_K, q3);
  EXPECT_EQ(y3[0], 3.0f);     // (0.5 * (34 - 32)) * 3
  EXPECT_EQ(y3[32], 64.0f);   // (0.5 * (0 - 32)) * (0 - 4)
  EXPECT_EQ(y3[200], 11.5f);  // (0.5 * (55 - 32)) * 1
}

TEST(DequantizeLiteral, Q4KQ5KQ6K) {
  std::vector<u8> q4(144, 0);
  put_u16(q4.data(), 0x3C00);      // d = 1
  put_u16(q4.data() + 2, 0x3C00);  // dmin = 1
  q4[4 + 0] = 5;                   // sc0 = 5
  q4[4 + 4] = 3;                   // mn0 = 3
  q4[4 + 9] = 0x21;                // sc5 low 1, mn5 low 2
  q4[4 + 1] = 0x40;                // sc5 high bits 01 (sc5 = 17)
  q4[4 + 5] = 0x80;                // mn5 high bits 10 (mn5 = 34)
  q4[16 + 0] = 0x07;               // element 0: q = 7
  q4[16 + 64] = 0x30;              // element 160 (c = 2, t = 1, l = 0): q = 3
  auto y = decode_one(GgufBlockFormat::Q4_K, q4);
  EXPECT_EQ(y[0], 32.0f);    // 5 * 7 - 3
  EXPECT_EQ(y[160], 17.0f);  // 17 * 3 - 34

  std::vector<u8> q5(176, 0);
  std::copy(q4.begin(), q4.begin() + 16, q5.begin());
  q5[48 + 64] = 0x30;  // element 160: nibble 3
  q5[16 + 0] = 0x20;   // qh[0] bit 5: element 160 gets + 16
  y = decode_one(GgufBlockFormat::Q5_K, q5);
  EXPECT_EQ(y[160], 289.0f);  // 17 * 19 - 34
  EXPECT_EQ(y[0], -3.0f);     // 5 * 0 - 3

  std::vector<u8> q6(210, 0);
  put_u16(q6.data() + 208, 0x3400);   // d = 0.25
  q6[192 + 0] = static_cast<u8>(-2);  // scale 0 = -2
  q6[192 + 14] = 3;                   // scale 14 = 3
  q6[0] = 0x0F;                       // element 0 low nibble 15
  q6[128] = 0x02;                     // element 0 high bits 2: 47 - 32 = 15
  q6[96] = 0x10;                      // element 224 (h 1, r 3, l 0): high nibble of ql[96]
  q6[128 + 32] = 0xC0;                // element 224 high bits 3: 49 - 32 = 17
  y = decode_one(GgufBlockFormat::Q6_K, q6);
  EXPECT_EQ(y[0], -7.5f);     // (0.25 * -2) * 15
  EXPECT_EQ(y[224], 12.75f);  // (0.25 * 3) * 17
  EXPECT_EQ(y[1], 16.0f);     // (0.25 * -2) * (0 - 32)
}

}  // namespace
}  // namespace moejit
