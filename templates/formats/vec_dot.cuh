// Integer dot-product traits of every GGUF weight format against q8_1 activations
// (namespace moejit::vecdot: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K).
#pragma once

#include "formats/vec_dot_common.cuh"
#include "formats/vec_dot_kquants.cuh"
#include "formats/vec_dot_q32.cuh"
