// Binding launch steps to functions and enqueueing them with cuLaunchKernel.
#include "runtime/launcher.hpp"

#include <string>

#include "runtime/driver.hpp"

namespace moejit {

std::vector<PreparedStep> prepare_steps(const KernelModule& module,
                                        std::span<const KernelStep> steps) {
  std::vector<PreparedStep> out;
  out.reserve(steps.size());
  for (const KernelStep& step : steps)
    out.push_back(PreparedStep{module.function_index(step.name_expression), step.dims,
                               step.programmatic, step.waits_first});
  return out;
}

void launch_steps(KernelModule& module, const LoadedModule& loaded,
                  std::span<const PreparedStep> steps, CUstream stream, const MoeParams& params) {
  const driver::Api& api = driver::api();
  // cuLaunchKernel copies the argument block at launch time, so one copy serves every step.
  MoeParams arg = params;
  void* args[] = {&arg};
  bool after_own_step = false;  // the previous launch of the stream is one of this call's
  for (const PreparedStep& step : steps) {
    const LaunchDims& d = step.dims;
    if (d.grid[0] == 0 || d.grid[1] == 0 || d.grid[2] == 0) continue;  // nothing to do
    const bool programmatic = step.programmatic && (after_own_step || step.waits_first) &&
                              api.cuLaunchKernelEx != nullptr;
    after_own_step = true;
    module.allow_dynamic_shared(loaded, step.function, d.shared_bytes);
    CUresult r;
    if (programmatic) {
      CUlaunchAttribute attribute{};
      attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
      attribute.value.programmaticStreamSerializationAllowed = 1;
      CUlaunchConfig config{};
      config.gridDimX = d.grid[0];
      config.gridDimY = d.grid[1];
      config.gridDimZ = d.grid[2];
      config.blockDimX = d.block[0];
      config.blockDimY = d.block[1];
      config.blockDimZ = d.block[2];
      config.sharedMemBytes = d.shared_bytes;
      config.hStream = stream;
      config.attrs = &attribute;
      config.numAttrs = 1;
      r = api.cuLaunchKernelEx(&config, loaded.functions[step.function], args, nullptr);
    } else {
      r = api.cuLaunchKernel(loaded.functions[step.function], d.grid[0], d.grid[1], d.grid[2],
                             d.block[0], d.block[1], d.block[2], d.shared_bytes, stream, args,
                             nullptr);
    }
    if (r != CUDA_SUCCESS)
      driver::check(r,
                    std::string(programmatic ? "cuLaunchKernelEx(" : "cuLaunchKernel(") +
                        module.artifact().kernels[step.function].name_expression + ", grid " +
                        std::to_string(d.grid[0]) + "x" + std::to_string(d.grid[1]) + "x" +
                        std::to_string(d.grid[2]) + ", block " + std::to_string(d.block[0]) + "x" +
                        std::to_string(d.block[1]) + "x" + std::to_string(d.block[2]) + ", " +
                        std::to_string(d.shared_bytes) + " B shared)",
                    module.artifact().key_text);
  }
}

}  // namespace moejit
