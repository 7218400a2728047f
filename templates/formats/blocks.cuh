// GGUF block layouts as device structs (byte-exact with ggml's ggml-common.h). Half-precision
// fields are kept as raw IEEE binary16 bits; read them with half_bits_to_float.
#pragma once

#include <cuda_fp16.h>

namespace moejit {
namespace gguf {

constexpr int kQK_K = 256;

struct BlockQ4_0 {
  unsigned short d;
  unsigned char qs[16];
};
struct BlockQ4_1 {
  unsigned short d;
  unsigned short m;
  unsigned char qs[16];
};
struct BlockQ5_0 {
  unsigned short d;
  unsigned char qh[4];
  unsigned char qs[16];
};
struct BlockQ5_1 {
  unsigned short d;
  unsigned short m;
  unsigned char qh[4];
  unsigned char qs[16];
};
struct BlockQ8_0 {
  unsigned short d;
  signed char qs[32];
};
struct BlockQ8_1 {
  unsigned short d;  // half(amax / 127)
  unsigned short s;  // half(d * sum(qs))
  signed char qs[32];
};
struct BlockQ2_K {
  unsigned char scales[16];
  unsigned char qs[64];
  unsigned short d;
  unsigned short dmin;
};
struct BlockQ3_K {
  unsigned char hmask[32];
  unsigned char qs[64];
  unsigned char scales[12];
  unsigned short d;
};
struct BlockQ4_K {
  unsigned short d;
  unsigned short dmin;
  unsigned char scales[12];
  unsigned char qs[128];
};
struct BlockQ5_K {
  unsigned short d;
  unsigned short dmin;
  unsigned char scales[12];
  unsigned char qh[32];
  unsigned char qs[128];
};
struct BlockQ6_K {
  unsigned char ql[128];
  unsigned char qh[64];
  signed char scales[16];
  unsigned short d;
};

static_assert(sizeof(BlockQ4_0) == 18, "q4_0 layout");
static_assert(sizeof(BlockQ4_1) == 20, "q4_1 layout");
static_assert(sizeof(BlockQ5_0) == 22, "q5_0 layout");
static_assert(sizeof(BlockQ5_1) == 24, "q5_1 layout");
static_assert(sizeof(BlockQ8_0) == 34, "q8_0 layout");
static_assert(sizeof(BlockQ8_1) == 36, "q8_1 layout");
static_assert(sizeof(BlockQ2_K) == 84, "q2_k layout");
static_assert(sizeof(BlockQ3_K) == 110, "q3_k layout");
static_assert(sizeof(BlockQ4_K) == 144, "q4_k layout");
static_assert(sizeof(BlockQ5_K) == 176, "q5_k layout");
static_assert(sizeof(BlockQ6_K) == 210, "q6_k layout");

__device__ __forceinline__ float half_bits_to_float(unsigned short bits) {
  return __half2float(__ushort_as_half(bits));
}

// ggml's get_scale_min_k4 of q4_K/q5_K sub-block j (0..7), from the 12 scale bytes s[0..11]
// held in the words s03 = s[0..3], s47 = s[4..7], s8b = s[8..11]:
// j < 4: sc = s[j] & 63, mn = s[j + 4] & 63;
// j >= 4: sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4, mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4.
// kBranchFree computes both candidates four bytes at a time and selects (faster in the tensor-core
// dequantization); otherwise it branches on j < 4 (faster in the vec-dot kernels).
template <bool kBranchFree>
__device__ __forceinline__ void scale_min_k4(unsigned s03, unsigned s47, unsigned s8b, int j,
                                             unsigned& sc, unsigned& mn) {
  const unsigned shift = 8u * static_cast<unsigned>(j & 3);
  if constexpr (kBranchFree) {
    const unsigned sc_hi = (s8b & 0x0F0F0F0Fu) | ((s03 >> 2) & 0x30303030u);
    const unsigned mn_hi = ((s8b >> 4) & 0x0F0F0F0Fu) | ((s47 >> 2) & 0x30303030u);
    sc = ((j < 4 ? s03 & 0x3F3F3F3Fu : sc_hi) >> shift) & 0xFFu;
    mn = ((j < 4 ? s47 & 0x3F3F3F3Fu : mn_hi) >> shift) & 0xFFu;
  } else {
    const unsigned lo = (s03 >> shift) & 0xFFu;   // s[j] or s[j - 4]
    const unsigned mid = (s47 >> shift) & 0xFFu;  // s[j + 4] or s[j]
    if (j < 4) {
      sc = lo & 63u;
      mn = mid & 63u;
    } else {
      const unsigned hi = (s8b >> shift) & 0xFFu;  // s[j + 4]
      sc = (hi & 0xFu) | ((lo >> 6) << 4);
      mn = (hi >> 4) | ((mid >> 6) << 4);
    }
  }
}

}  // namespace gguf
}  // namespace moejit
