// Per-context module loading of artifacts, and the process-wide registry of loaded kernels.
#include "runtime/module_cache.hpp"

#include <map>
#include <string>
#include <utility>

#include "moejit/error.hpp"
#include "runtime/driver.hpp"

namespace moejit {
namespace {

constexpr unsigned kDefaultSharedLimit = 48 * 1024;

}  // namespace

bool can_run(const GpuArch& device, const GpuArch& target) {
  if (target.arch_specific) return device.sm == target.sm;
  return device.sm / 10 == target.sm / 10 && device.sm % 10 >= target.sm % 10;
}

KernelModule::KernelModule(std::shared_ptr<const Artifact> artifact, GpuArch arch)
    : artifact_(std::move(artifact)), arch_(arch) {}

std::size_t KernelModule::function_index(std::string_view name_expression) const {
  for (std::size_t i = 0; i < artifact_->kernels.size(); ++i)
    if (artifact_->kernels[i].name_expression == name_expression) return i;
  throw Error(ErrorCode::Internal, "kernel " + artifact_->key_text + " has no function for " +
                                       std::string(name_expression) +
                                       " (the artifact and the launch plan disagree)");
}

const LoadedModule* KernelModule::find(unsigned long long context_id) const {
  for (const Slot& slot : slots_) {
    const LoadedModule* loaded = slot.loaded.load(std::memory_order_acquire);
    if (loaded == nullptr) return nullptr;  // slots fill in order
    if (slot.context_id.load(std::memory_order_relaxed) == context_id) return loaded;
  }
  return nullptr;
}

const LoadedModule& KernelModule::in_context(CUcontext context) {
  const unsigned long long id = driver::context_id(context);
  if (const LoadedModule* hit = find(id)) return *hit;
  std::lock_guard<std::mutex> lock(mutex_);
  if (const LoadedModule* hit = find(id)) return *hit;
  if (auto it = overflow_.find(id); it != overflow_.end()) return *it->second;
  owned_.push_back(load(context));
  const LoadedModule* loaded = owned_.back().get();
  for (Slot& slot : slots_) {
    if (slot.loaded.load(std::memory_order_relaxed) == nullptr) {
      slot.context_id.store(id, std::memory_order_relaxed);
      slot.loaded.store(loaded, std::memory_order_release);
      return *loaded;
    }
  }
  overflow_.emplace(id, loaded);
  return *loaded;
}

std::unique_ptr<LoadedModule> KernelModule::load(CUcontext context) const {
  const Artifact& a = *artifact_;
  const driver::Api& api = driver::api();
  auto out = std::make_unique<LoadedModule>();
  out->context = context;
  out->device = driver::current_device();
  const GpuArch device_arch = driver::device_arch(out->device);
  if (!can_run(device_arch, arch_))
    throw Error(ErrorCode::Unsupported,
                "kernel " + a.key_text + " was compiled for " + arch_.to_string() + " but device " +
                    std::to_string(out->device) + " (" + driver::device_name(out->device) +
                    ") is " + device_arch.to_string() +
                    ": select the plan with that device current, or with PlanPreference::arch "
                    "set to \"" +
                    device_arch.to_string() + "\"");
  if (a.cubin.empty())
    throw Error(ErrorCode::Internal, "kernel " + a.key_text + " has no cubin to load");
  driver::check(api.cuModuleLoadData(&out->module, a.cubin.data()), "cuModuleLoadData", a.key_text);
  out->max_shared_optin =
      driver::device_attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, out->device);
  out->functions.resize(a.kernels.size());
  out->static_shared.resize(a.kernels.size());
  out->dynamic_allowed = std::make_unique<std::atomic<unsigned>[]>(a.kernels.size());
  for (std::size_t i = 0; i < a.kernels.size(); ++i) {
    const KernelEntry& k = a.kernels[i];
    driver::check(api.cuModuleGetFunction(&out->functions[i], out->module, k.lowered_name.c_str()),
                  "cuModuleGetFunction(" + k.lowered_name + ")", a.key_text);
    int static_bytes = 0;
    driver::check(api.cuFuncGetAttribute(&static_bytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                                         out->functions[i]),
                  "cuFuncGetAttribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)", a.key_text);
    out->static_shared[i] = static_bytes;
    const unsigned used = static_cast<unsigned>(static_bytes);
    out->dynamic_allowed[i].store(used < kDefaultSharedLimit ? kDefaultSharedLimit - used : 0,
                                  std::memory_order_relaxed);
  }
  return out;
}

void KernelModule::allow_dynamic_shared(const LoadedModule& loaded, std::size_t index,
                                        unsigned bytes) {
  if (bytes <= loaded.dynamic_allowed[index].load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes <= loaded.dynamic_allowed[index].load(std::memory_order_relaxed)) return;
  const Artifact& a = *artifact_;
  const long long total = static_cast<long long>(bytes) + loaded.static_shared[index];
  if (total > loaded.max_shared_optin)
    throw Error(ErrorCode::Unsupported,
                "kernel " + a.key_text + " needs " + std::to_string(total) +
                    " bytes of shared memory per block (" + a.kernels[index].name_expression +
                    ") but device " + std::to_string(loaded.device) + " allows " +
                    std::to_string(loaded.max_shared_optin) + ": pick a smaller tile");
  driver::check(driver::api().cuFuncSetAttribute(loaded.functions[index],
                                                 CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                                 static_cast<int>(bytes)),
                "cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, " +
                    std::to_string(bytes) + ")",
                a.key_text);
  loaded.dynamic_allowed[index].store(bytes, std::memory_order_release);
}

std::shared_ptr<KernelModule> kernel_module_for(std::shared_ptr<const Artifact> artifact,
                                                const GpuArch& arch) {
  // Leaked on purpose: modules stay loaded until the process exits, and no destructor runs
  // after the driver has shut down.
  static auto* mutex = new std::mutex;
  static auto* modules = new std::map<std::string, std::shared_ptr<KernelModule>>;
  const std::string key = artifact->digest + "|" + artifact->key_text + "|" + arch.to_string();
  std::lock_guard<std::mutex> lock(*mutex);
  auto& slot = (*modules)[key];
  if (!slot) slot = std::make_shared<KernelModule>(std::move(artifact), arch);
  return slot;
}

}  // namespace moejit
