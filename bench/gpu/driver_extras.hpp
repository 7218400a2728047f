// Driver entry points the benchmark needs beyond runtime/driver.hpp's Api (cuLaunchHostFunc,
// cuMemcpyDtoD), looked up in the libcuda.so.1 that driver::api() already loaded.
#pragma once

#include <cuda.h>

#include <cstddef>

namespace moejit::gpubench {

using LaunchHostFunc = CUresult (*)(CUstream, CUhostFn, void*);
using MemcpyDtoD = CUresult (*)(CUdeviceptr, CUdeviceptr, std::size_t);

// The entry points, or null when the driver lacks them. Load the driver first (driver::api()).
LaunchHostFunc launch_host_func();
MemcpyDtoD memcpy_dtod();

}  // namespace moejit::gpubench
