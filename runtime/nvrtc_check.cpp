// NVRTC status checks and version.
#include "runtime/nvrtc_check.hpp"

#include "moejit/error.hpp"

namespace moejit {

void nvrtc_check(nvrtcResult result, const char* what, const std::string& key_text) {
  if (result == NVRTC_SUCCESS) return;
  throw Error(ErrorCode::Internal, std::string("NVRTC ") + what + " failed for kernel " + key_text +
                                       ": " + nvrtcGetErrorString(result));
}

const NvrtcVersion& nvrtc_version() {
  static const NvrtcVersion version = [] {
    NvrtcVersion v;
    nvrtc_check(nvrtcVersion(&v.major, &v.minor), "nvrtcVersion", "(none)");
    return v;
  }();
  return version;
}

}  // namespace moejit
