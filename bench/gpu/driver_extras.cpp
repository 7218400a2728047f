// Looking up cuLaunchHostFunc and cuMemcpyDtoD in the loaded driver library.
#include "bench/gpu/driver_extras.hpp"

#include <dlfcn.h>

#include "runtime/driver.hpp"

namespace moejit::gpubench {
namespace {

void* driver_symbol(const char* name) {
  driver::api();  // loads libcuda.so.1 (throws NoDevice without it)
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  return handle ? dlsym(handle, name) : nullptr;
}

}  // namespace

LaunchHostFunc launch_host_func() {
  static const auto fn = reinterpret_cast<LaunchHostFunc>(driver_symbol("cuLaunchHostFunc"));
  return fn;
}

MemcpyDtoD memcpy_dtod() {
  // cuda.h maps cuMemcpyDtoD to the 64-bit pointer version, cuMemcpyDtoD_v2.
  static const auto fn = reinterpret_cast<MemcpyDtoD>(driver_symbol("cuMemcpyDtoD_v2"));
  return fn;
}

}  // namespace moejit::gpubench
