// Artifact: the plain, serializable result of compiling one kernel (no CUDA handles), as stored
// in the caches and loaded onto a device later.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moejit {

// Resource usage of one compiled kernel function, as reported by ptxas.
struct KernelResources {
  int registers = 0;
  int shared_static_bytes = 0;   // static __shared__ bytes
  int shared_dynamic_bytes = 0;  // dynamic shared memory the launcher passes
  int local_bytes = 0;           // stack frame (local memory) bytes
  int spill_store_bytes = 0;
  int spill_load_bytes = 0;
};

// One __global__ function of an artifact: the name expression the generated source registered
// with NVRTC and the lowered (mangled) name NVRTC returned for it.
struct KernelEntry {
  std::string name_expression;
  std::string lowered_name;
  KernelResources resources;
};

struct Artifact {
  std::string key_text;              // canonical human-readable kernel key
  std::string digest;                // hex SHA-256 content key of the entry
  std::string arch;                  // target, e.g. "sm_90a"
  std::string source;                // the generated translation unit
  std::vector<std::string> options;  // NVRTC options, in the order passed
  std::string log;                   // NVRTC log (warnings, ptxas -v output)
  std::string ptx;                   // PTX kept for inspection
  std::vector<std::uint8_t> cubin;   // what cuModuleLoadData loads
  std::vector<KernelEntry> kernels;  // every kernel of the module, main kernel first
  double compile_ms = 0.0;           // wall time NVRTC took (informational, not part of the key)
};

}  // namespace moejit
