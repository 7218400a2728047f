// moejit kernel scalar_gguf:q8_0:f32:sm_86:4x8x0:w4:s1 (codegen 3)
// NVRTC instantiates the kernels from these name expressions:
//   &moejit::scalar_gguf_kernel<moejit::vecdot::Q8_0, 4, 8, 4, 0, 0>
//   &moejit::quantize_q8_1_kernel
#include "moe_params.cuh"
#include "formats/blocks.cuh"
#include "formats/vec_dot.cuh"
#include "quantize_q8_1.cuh"
#include "scalar_gguf.cuh"

static_assert(sizeof(moejit::MoeParams) == 112, "MoeParams differs between host and device");
static_assert(alignof(moejit::MoeParams) == 8, "MoeParams alignment differs between host and device");
static_assert(moejit::vecdot::Q8_0::kBlockElems == 32, "moejit::vecdot::Q8_0::kBlockElems == 32");
static_assert(moejit::vecdot::Q8_0::kBlockBytes == 34, "moejit::vecdot::Q8_0::kBlockBytes == 34");
static_assert(sizeof(moejit::vecdot::Q8_0::Block) == 34, "sizeof(moejit::vecdot::Q8_0::Block) == 34");
static_assert(moejit::vecdot::Q8_0::kWeightAlign == 2, "moejit::vecdot::Q8_0::kWeightAlign == 2");
static_assert(sizeof(moejit::gguf::BlockQ8_1) == 36, "sizeof(moejit::gguf::BlockQ8_1) == 36");
