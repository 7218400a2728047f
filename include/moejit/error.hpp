// moejit::Error: the one exception type of the library, with a code callers can branch on.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace moejit {

enum class ErrorCode {
  InvalidProblem,  // the descriptor or arguments describe an impossible problem
  Unsupported,     // a valid problem this build or device cannot run
  CompileError,    // NVRTC rejected generated source (message carries log and repro)
  CudaError,       // a CUDA driver call failed
  CacheError,      // the kernel cache cannot serve a request (for example MOEJIT_NO_JIT miss)
  NoDevice,        // no CUDA driver or device is present
  Internal,        // a bug in moejit
};

constexpr std::string_view error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::InvalidProblem:
      return "InvalidProblem";
    case ErrorCode::Unsupported:
      return "Unsupported";
    case ErrorCode::CompileError:
      return "CompileError";
    case ErrorCode::CudaError:
      return "CudaError";
    case ErrorCode::CacheError:
      return "CacheError";
    case ErrorCode::NoDevice:
      return "NoDevice";
    case ErrorCode::Internal:
      return "Internal";
  }
  return "Unknown";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(std::string(error_code_name(code)) + ": " + message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace moejit
