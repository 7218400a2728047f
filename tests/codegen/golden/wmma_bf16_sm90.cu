// moejit kernel wmma:bf16:sm_90:16x64x128:w4:s4 (codegen 3)
// NVRTC instantiates the kernels from these name expressions:
//   &moejit::wmma_kernel<__nv_bfloat16, 16, 64, 128, 4, 4>
//   &moejit::expert_offsets_kernel
#include "moe_params.cuh"
#include "expert_offsets.cuh"
#include "wmma.cuh"

static_assert(sizeof(moejit::MoeParams) == 112, "MoeParams differs between host and device");
static_assert(alignof(moejit::MoeParams) == 8, "MoeParams alignment differs between host and device");
static_assert(moejit::WmmaTraits<__nv_bfloat16, 16, 64, 128, 4, 4>::kSmemBytes == 87040, "moejit::WmmaTraits<__nv_bfloat16, 16, 64, 128, 4, 4>::kSmemBytes == 87040");
