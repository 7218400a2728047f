// moejit kernel wmma_gguf:q4_k:f16:sm_80:16x64x64:w4:s3 (codegen 3)
// NVRTC instantiates the kernels from these name expressions:
//   &moejit::wmma_gguf_kernel<moejit::fmt::Q4_K, __half, 16, 64, 64, 4, 3, 0, 0, 1>
//   &moejit::expert_offsets_kernel
#include "moe_params.cuh"
#include "expert_offsets.cuh"
#include "wmma_gguf.cuh"

static_assert(sizeof(moejit::MoeParams) == 112, "MoeParams differs between host and device");
static_assert(alignof(moejit::MoeParams) == 8, "MoeParams alignment differs between host and device");
static_assert(moejit::WmmaGgufTraits<moejit::fmt::Q4_K, __half, 16, 64, 64, 4, 3, 1>::kSmemBytes == 36608, "moejit::WmmaGgufTraits<moejit::fmt::Q4_K, __half, 16, 64, 64, 4, 3, 1>::kSmemBytes == 36608");
