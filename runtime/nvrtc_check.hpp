// Small NVRTC helpers: turning NVRTC status codes into moejit::Error, and the library version.
#pragma once

#include <nvrtc.h>

#include <string>

namespace moejit {

// Throws Error(Internal) "NVRTC <what> failed for kernel <key>: <NVRTC error string>" unless the
// result is NVRTC_SUCCESS. (A rejected program is reported by the compiler as CompileError.)
void nvrtc_check(nvrtcResult result, const char* what, const std::string& key_text);

struct NvrtcVersion {
  int major = 0;
  int minor = 0;
  std::string to_string() const { return std::to_string(major) + "." + std::to_string(minor); }
  int as_cuda_version() const { return major * 1000 + minor * 10; }  // CUDA_VERSION form
};

// The version of the loaded libnvrtc (nvrtcVersion), read once.
const NvrtcVersion& nvrtc_version();

}  // namespace moejit
