// The CUDA toolkit headers NVRTC needs (cuda_fp16.h, cuda_bf16.h, mma.h), found at run time.
#pragma once

#include <filesystem>
#include <optional>

namespace moejit {

struct CudaToolkit {
  std::filesystem::path include_dir;  // passed to NVRTC as -I<include_dir>
  int version = 0;                    // CUDA_VERSION of its cuda.h, e.g. 13000
};

// The first of these whose include/ holds cuda.h and cuda_fp16.h: $CUDA_HOME, the toolkit that
// holds the loaded libnvrtc, /usr/local/cuda. nullopt when none does.
std::optional<CudaToolkit> find_cuda_toolkit();

// find_cuda_toolkit(), run once per process.
const std::optional<CudaToolkit>& process_cuda_toolkit();

// process_cuda_toolkit(), or throws Error(Unsupported) naming every place looked at
// and what to do (install the toolkit or set CUDA_HOME) when no toolkit headers are found.
const CudaToolkit& cuda_toolkit();

}  // namespace moejit
