// Lazy loading of libcuda.so.1 with dlopen, error reporting, and the context and device queries
// of the plan layer. Nothing here runs before the first call (no static initializers).
#include "runtime/driver.hpp"

#include <dlfcn.h>

#include <optional>

#include "moejit/error.hpp"

// cuda.h maps many names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2); stringizing after
// macro expansion gives the symbol to look up with dlsym.
#define MOEJIT_SYMBOL_NAME2(x) #x
#define MOEJIT_SYMBOL_NAME(x) MOEJIT_SYMBOL_NAME2(x)

namespace moejit::driver {
namespace {

constexpr const char* kLibrary = "libcuda.so.1";
constexpr const char* kNoDriverAdvice =
    "install the NVIDIA driver and run on a machine with a GPU; to compile kernels without a "
    "GPU, pass PlanPreference::arch (for example \"sm_90\")";

struct Loaded {
  std::optional<Api> api;
  std::string error;  // why api is absent
};

template <class Fn>
bool load_symbol(void* handle, const char* name, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (out == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
  }
  return true;
}

Loaded load() {
  Loaded result;
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    result.error = std::string("the CUDA driver library ") + kLibrary + " could not be loaded (" +
                   (why ? why : "unknown reason") + "); " + kNoDriverAdvice;
    return result;
  }
  Api api{};
  std::string missing;
#define MOEJIT_LOAD(name) load_symbol(handle, MOEJIT_SYMBOL_NAME(name), api.name, missing)
  MOEJIT_LOAD(cuInit);
  MOEJIT_LOAD(cuDriverGetVersion);
  MOEJIT_LOAD(cuGetErrorName);
  MOEJIT_LOAD(cuGetErrorString);
  MOEJIT_LOAD(cuDeviceGet);
  MOEJIT_LOAD(cuDeviceGetCount);
  MOEJIT_LOAD(cuDeviceGetAttribute);
  MOEJIT_LOAD(cuDeviceGetName);
  MOEJIT_LOAD(cuDevicePrimaryCtxRetain);
  MOEJIT_LOAD(cuCtxGetCurrent);
  MOEJIT_LOAD(cuCtxSetCurrent);
  MOEJIT_LOAD(cuCtxGetDevice);
  MOEJIT_LOAD(cuCtxSynchronize);
  MOEJIT_LOAD(cuModuleLoadData);
  MOEJIT_LOAD(cuModuleGetFunction);
  MOEJIT_LOAD(cuModuleUnload);
  MOEJIT_LOAD(cuFuncSetAttribute);
  MOEJIT_LOAD(cuFuncGetAttribute);
  MOEJIT_LOAD(cuLaunchKernel);
  MOEJIT_LOAD(cuLaunchHostFunc);
  MOEJIT_LOAD(cuStreamIsCapturing);
  MOEJIT_LOAD(cuStreamCreate);
  MOEJIT_LOAD(cuStreamDestroy);
  MOEJIT_LOAD(cuStreamSynchronize);
  MOEJIT_LOAD(cuStreamBeginCapture);
  MOEJIT_LOAD(cuStreamEndCapture);
  MOEJIT_LOAD(cuGraphInstantiateWithFlags);
  MOEJIT_LOAD(cuGraphLaunch);
  MOEJIT_LOAD(cuGraphDestroy);
  MOEJIT_LOAD(cuGraphExecDestroy);
  MOEJIT_LOAD(cuMemAlloc);
  MOEJIT_LOAD(cuMemFree);
  MOEJIT_LOAD(cuMemGetInfo);
  MOEJIT_LOAD(cuMemcpyHtoD);
  MOEJIT_LOAD(cuMemcpyDtoH);
  MOEJIT_LOAD(cuMemcpyDtoD);
  MOEJIT_LOAD(cuMemsetD8);
  MOEJIT_LOAD(cuMemsetD16);
  MOEJIT_LOAD(cuMemsetD32);
  MOEJIT_LOAD(cuEventCreate);
  MOEJIT_LOAD(cuEventDestroy);
  MOEJIT_LOAD(cuEventRecord);
  MOEJIT_LOAD(cuEventSynchronize);
  MOEJIT_LOAD(cuEventElapsedTime);
#undef MOEJIT_LOAD
  // Optional: drivers before CUDA 12.0 lack it; context_id falls back to the handle.
  api.cuCtxGetId = reinterpret_cast<decltype(api.cuCtxGetId)>(dlsym(handle, "cuCtxGetId"));
  // Optional too: without it, programmatic launches fall back to plain, fully ordered ones.
  api.cuLaunchKernelEx = reinterpret_cast<decltype(api.cuLaunchKernelEx)>(
      dlsym(handle, MOEJIT_SYMBOL_NAME(cuLaunchKernelEx)));
  if (!missing.empty()) {
    result.error = std::string("the CUDA driver (") + kLibrary + ") is too old: it lacks " +
                   missing + "; install an NVIDIA driver that supports CUDA 13";
    return result;
  }
  const CUresult init = api.cuInit(0);
  if (init != CUDA_SUCCESS) {
    const char* name = nullptr;
    const char* text = nullptr;
    api.cuGetErrorName(init, &name);
    api.cuGetErrorString(init, &text);
    result.error = std::string("cuInit failed: ") + (name ? name : "unknown error") + " (" +
                   (text ? text : "no description") + "); " + kNoDriverAdvice;
    return result;
  }
  result.api = api;
  return result;
}

const Loaded& loaded() {
  static const Loaded instance = load();
  return instance;
}

}  // namespace

const Api& api() {
  const Loaded& l = loaded();
  if (!l.api) throw Error(ErrorCode::NoDevice, l.error);
  return *l.api;
}

bool available() noexcept { return device_count() > 0; }

std::string describe(CUresult result) {
  const Loaded& l = loaded();
  const char* name = nullptr;
  const char* text = nullptr;
  if (l.api) {
    l.api->cuGetErrorName(result, &name);
    l.api->cuGetErrorString(result, &text);
  }
  std::string out = name ? name : "CUresult " + std::to_string(static_cast<int>(result));
  if (text) out += std::string(" (") + text + ")";
  return out;
}

void check(CUresult result, std::string_view call, std::string_view kernel_key) {
  if (result == CUDA_SUCCESS) return;
  std::string message = std::string(call) + " failed: " + describe(result);
  if (!kernel_key.empty()) message += " [kernel " + std::string(kernel_key) + "]";
  throw Error(ErrorCode::CudaError, message);
}

int device_count() noexcept {
  const Loaded& l = loaded();
  if (!l.api) return 0;
  int count = 0;
  if (l.api->cuDeviceGetCount(&count) != CUDA_SUCCESS) return 0;
  return count;
}

namespace {

CUdevice device_handle(int device) {
  const Api& a = api();
  int count = 0;
  check(a.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0)
    throw Error(ErrorCode::NoDevice,
                std::string("the CUDA driver reports no device; ") + kNoDriverAdvice);
  if (device < 0 || device >= count)
    throw Error(ErrorCode::InvalidProblem,
                "device ordinal " + std::to_string(device) + " is out of range: this machine has " +
                    std::to_string(count) + " CUDA device(s), ordinals 0.." +
                    std::to_string(count - 1));
  CUdevice handle = 0;
  check(a.cuDeviceGet(&handle, device), "cuDeviceGet");
  return handle;
}

}  // namespace

int device_attribute(CUdevice_attribute attribute, int device) {
  const CUdevice handle = device_handle(device);
  int value = 0;
  check(api().cuDeviceGetAttribute(&value, attribute, handle), "cuDeviceGetAttribute");
  return value;
}

GpuArch device_arch(int device) {
  const int major = device_attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  const int minor = device_attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  return GpuArch{major * 10 + minor, false};
}

std::string device_name(int device) {
  const CUdevice handle = device_handle(device);
  char name[256] = {};
  check(api().cuDeviceGetName(name, sizeof(name) - 1, handle), "cuDeviceGetName");
  return name;
}

CUcontext current_context() {
  CUcontext context = nullptr;
  check(api().cuCtxGetCurrent(&context), "cuCtxGetCurrent");
  return context;
}

CUcontext current_or_primary_context(int device) {
  CUcontext context = current_context();
  if (context != nullptr) return context;
  const CUdevice handle = device_handle(device);
  // The retain is never released: the primary context lives as long as the process, as it does
  // under the CUDA runtime.
  check(api().cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain");
  check(api().cuCtxSetCurrent(context), "cuCtxSetCurrent");
  return context;
}

int current_device() {
  CUdevice device = 0;
  check(api().cuCtxGetDevice(&device), "cuCtxGetDevice");
  return static_cast<int>(device);
}

int active_device() {
  current_or_primary_context(0);
  return current_device();
}

unsigned long long context_id(CUcontext context) {
  const Api& a = api();
  if (a.cuCtxGetId != nullptr) {
    unsigned long long id = 0;
    check(a.cuCtxGetId(context, &id), "cuCtxGetId");
    return id;
  }
  return reinterpret_cast<unsigned long long>(context);
}

bool stream_is_capturing(CUstream stream) {
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  const CUresult r = api().cuStreamIsCapturing(stream, &status);
  // The legacy stream cannot be queried while another blocking stream captures: that is a
  // capture in progress too.
  if (r == CUDA_ERROR_STREAM_CAPTURE_IMPLICIT) return true;
  check(r, "cuStreamIsCapturing");
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

}  // namespace moejit::driver
