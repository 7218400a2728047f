// moejit kernel wmma_gguf:q6_k:bf16:sm_90a:16x64x64:w4:s3:k=4096 (codegen 3)
// NVRTC instantiates the kernels from these name expressions:
//   &moejit::wmma_gguf_kernel<moejit::fmt::Q6_K, __nv_bfloat16, 16, 64, 64, 4, 3, 0, 4096>
//   &moejit::expert_offsets_kernel
#include "moe_params.cuh"
#include "expert_offsets.cuh"
#include "wmma_gguf.cuh"

static_assert(sizeof(moejit::MoeParams) == 112, "MoeParams differs between host and device");
static_assert(alignof(moejit::MoeParams) == 8, "MoeParams alignment differs between host and device");
static_assert(moejit::WmmaGgufTraits<moejit::fmt::Q6_K, __nv_bfloat16, 16, 64, 64, 4, 3>::kSmemBytes == 56064, "moejit::WmmaGgufTraits<moejit::fmt::Q6_K, __nv_bfloat16, 16, 64, 64, 4, 3>::kSmemBytes == 56064");
