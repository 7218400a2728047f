// Loaded kernels: an Artifact's cubin loaded once per CUDA context (cuModuleLoadData), with its
// functions and shared-memory attributes, found again without a lock on every run().
#pragma once

#include <cuda.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/artifact.hpp"
#include "codegen/kernel_spec.hpp"

namespace moejit {

// One artifact's module in one context.
struct LoadedModule {
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  int device = 0;
  int max_shared_optin = 0;           // bytes a block of this device may opt into
  std::vector<CUfunction> functions;  // in Artifact::kernels order
  std::vector<int> static_shared;     // static __shared__ bytes of each function
  // Dynamic shared memory each function is currently allowed (48 KiB until raised).
  std::unique_ptr<std::atomic<unsigned>[]> dynamic_allowed;
};

// An artifact's modules across contexts. Modules are never unloaded: they live as long as the
// process (unloading in static destructors would race the driver's own shutdown).
class KernelModule {
 public:
  KernelModule(std::shared_ptr<const Artifact> artifact, GpuArch arch);
  KernelModule(const KernelModule&) = delete;
  KernelModule& operator=(const KernelModule&) = delete;

  // The module in `context`, which must be current on this thread; loads it on first use.
  // Lock-free once loaded. Throws Error(Unsupported) when the context's device cannot run the
  // artifact's architecture, Error(CudaError) when loading fails.
  const LoadedModule& in_context(CUcontext context);

  // Lets function `index` use `bytes` of dynamic shared memory (cuFuncSetAttribute, once, when
  // above the 48 KiB default). Throws Error(Unsupported) when the device has less.
  void allow_dynamic_shared(const LoadedModule& loaded, std::size_t index, unsigned bytes);

  // Index of a kernel in Artifact::kernels by its name expression. Throws Error(Internal).
  std::size_t function_index(std::string_view name_expression) const;

  const Artifact& artifact() const { return *artifact_; }
  const GpuArch& arch() const { return arch_; }

 private:
  struct Slot {
    std::atomic<unsigned long long> context_id{0};
    std::atomic<const LoadedModule*> loaded{nullptr};
  };
  const LoadedModule* find(unsigned long long context_id) const;
  std::unique_ptr<LoadedModule> load(CUcontext context) const;

  std::shared_ptr<const Artifact> artifact_;
  GpuArch arch_;
  std::array<Slot, 8> slots_;
  std::mutex mutex_;  // guards loading, overflow_, owned_ and attribute changes
  std::unordered_map<unsigned long long, const LoadedModule*> overflow_;
  std::vector<std::unique_ptr<LoadedModule>> owned_;
};

// The one KernelModule of an artifact (by digest and architecture), shared by every plan that
// uses it. Thread-safe.
std::shared_ptr<KernelModule> kernel_module_for(std::shared_ptr<const Artifact> artifact,
                                                const GpuArch& arch);

// Whether a device of architecture `device` can run a cubin built for `target`: the same major
// version and a minor version at least the target's; an arch-specific target ("a") needs an
// exact match.
bool can_run(const GpuArch& device, const GpuArch& target);

}  // namespace moejit
