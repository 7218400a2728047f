// The CUDA driver API, loaded with dlopen("libcuda.so.1") on first use (never linked), plus the
// context and device queries the plan layer needs. Internal: cuda.h is used for its types only.
#pragma once

#include <cuda.h>

#include <string>
#include <string_view>

#include "codegen/kernel_spec.hpp"

namespace moejit::driver {

// Every driver entry point moejit calls. Members are named after the unversioned API names; they
// point at the ABI version cuda.h maps that name to (cuMemAlloc -> cuMemAlloc_v2, ...).
struct Api {
  decltype(&::cuInit) cuInit;
  decltype(&::cuDriverGetVersion) cuDriverGetVersion;
  decltype(&::cuGetErrorName) cuGetErrorName;
  decltype(&::cuGetErrorString) cuGetErrorString;
  decltype(&::cuDeviceGet) cuDeviceGet;
  decltype(&::cuDeviceGetCount) cuDeviceGetCount;
  decltype(&::cuDeviceGetAttribute) cuDeviceGetAttribute;
  decltype(&::cuDeviceGetName) cuDeviceGetName;
  decltype(&::cuDevicePrimaryCtxRetain) cuDevicePrimaryCtxRetain;
  decltype(&::cuCtxGetCurrent) cuCtxGetCurrent;
  decltype(&::cuCtxSetCurrent) cuCtxSetCurrent;
  decltype(&::cuCtxGetDevice) cuCtxGetDevice;
  decltype(&::cuCtxGetId) cuCtxGetId;  // null on drivers older than CUDA 12.0
  decltype(&::cuCtxSynchronize) cuCtxSynchronize;
  decltype(&::cuModuleLoadData) cuModuleLoadData;
  decltype(&::cuModuleGetFunction) cuModuleGetFunction;
  decltype(&::cuModuleUnload) cuModuleUnload;
  decltype(&::cuFuncSetAttribute) cuFuncSetAttribute;
  decltype(&::cuFuncGetAttribute) cuFuncGetAttribute;
  decltype(&::cuLaunchKernel) cuLaunchKernel;
  decltype(&::cuLaunchKernelEx) cuLaunchKernelEx;  // null on drivers older than CUDA 12.0
  decltype(&::cuLaunchHostFunc) cuLaunchHostFunc;
  decltype(&::cuStreamIsCapturing) cuStreamIsCapturing;
  decltype(&::cuStreamCreate) cuStreamCreate;
  decltype(&::cuStreamDestroy) cuStreamDestroy;
  decltype(&::cuStreamSynchronize) cuStreamSynchronize;
  decltype(&::cuStreamBeginCapture) cuStreamBeginCapture;
  decltype(&::cuStreamEndCapture) cuStreamEndCapture;
  decltype(&::cuGraphInstantiateWithFlags) cuGraphInstantiateWithFlags;
  decltype(&::cuGraphLaunch) cuGraphLaunch;
  decltype(&::cuGraphDestroy) cuGraphDestroy;
  decltype(&::cuGraphExecDestroy) cuGraphExecDestroy;
  decltype(&::cuMemAlloc) cuMemAlloc;
  decltype(&::cuMemFree) cuMemFree;
  decltype(&::cuMemGetInfo) cuMemGetInfo;
  decltype(&::cuMemcpyHtoD) cuMemcpyHtoD;
  decltype(&::cuMemcpyDtoH) cuMemcpyDtoH;
  decltype(&::cuMemcpyDtoD) cuMemcpyDtoD;
  decltype(&::cuMemsetD8) cuMemsetD8;
  decltype(&::cuMemsetD16) cuMemsetD16;
  decltype(&::cuMemsetD32) cuMemsetD32;
  decltype(&::cuEventCreate) cuEventCreate;
  decltype(&::cuEventDestroy) cuEventDestroy;
  decltype(&::cuEventRecord) cuEventRecord;
  decltype(&::cuEventSynchronize) cuEventSynchronize;
  decltype(&::cuEventElapsedTime) cuEventElapsedTime;
};

// The loaded and initialised (cuInit) driver. Loads it on the first call; thread-safe.
// Throws Error(NoDevice) when libcuda.so.1 cannot be loaded, lacks an entry point, or cuInit
// fails (no device, driver too old), with a message that says what to do.
const Api& api();

// True when api() succeeds and at least one device is present. Never throws.
bool available() noexcept;

// "CUDA_ERROR_X (description)" for a result code.
std::string describe(CUresult result);

// Throws Error(CudaError) naming the call, the error and, when given, the kernel key.
void check(CUresult result, std::string_view call, std::string_view kernel_key = {});

// The number of CUDA devices (0 when there is no driver).
int device_count() noexcept;

// The architecture of a device ordinal, and its name. Throw Error(NoDevice) / Error(CudaError).
GpuArch device_arch(int device);
std::string device_name(int device);
int device_attribute(CUdevice_attribute attribute, int device);

// The context current on this thread; when there is none, retains the primary context of
// `device` and makes it current (what the CUDA runtime does implicitly). Throws Error(NoDevice)
// when the driver or the device is missing, Error(InvalidProblem) for a bad ordinal.
CUcontext current_or_primary_context(int device);

// The context current on this thread, or null. Throws Error(NoDevice) without a driver.
CUcontext current_context();

// The device ordinal of the current context; throws Error(CudaError) when there is none.
int current_device();

// The device of the current context; with no context current, makes GPU 0's primary context
// current first and returns 0 (the device a plan selected without a context runs on).
int active_device();

// A process-unique id of a context (cuCtxGetId; the handle value on drivers that lack it).
unsigned long long context_id(CUcontext context);

// Whether `stream` (null: the legacy default stream) is being captured into a CUDA graph,
// including the implicit capture of the legacy stream while another blocking stream captures.
bool stream_is_capturing(CUstream stream);

}  // namespace moejit::driver
