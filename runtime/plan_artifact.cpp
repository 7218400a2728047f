// The artifact of a plan: the artifact store (memory, read-only layers, writable disk cache)
// first, NVRTC on a miss; a miss during CUDA graph capture is refused.
#include "runtime/plan_artifact.hpp"

#include <cuda.h>

#include "cache/artifact_store.hpp"
#include "cache/knobs.hpp"
#include "moejit/error.hpp"
#include "runtime/compiler.hpp"
#include "runtime/driver.hpp"

namespace moejit {

ArtifactStore& process_artifact_store() {
  // Leaked on purpose: artifacts stay valid until the process exits, whatever the order of
  // static destruction.
  static auto* store = new ArtifactStore(Knobs::get());
  return *store;
}

void refuse_compile_during_capture(Stream stream, const std::string& kernel_key) {
  if (driver::device_count() == 0) return;  // no driver, no capture
  if (stream == nullptr && driver::current_context() == nullptr) return;
  if (!driver::stream_is_capturing(static_cast<CUstream>(stream))) return;
  throw Error(ErrorCode::Unsupported,
              "MoePlan::select would compile kernel " + kernel_key +
                  " while the stream is being captured into a CUDA graph, and compiling cannot "
                  "be captured: select every plan once before capturing (warm-up), or fill the "
                  "cache ahead of time with `moejit precompile`");
}

std::shared_ptr<const Artifact> artifact_from_store(
    ArtifactStore& store, const KernelSpec& spec, LookupInfo* info,
    const std::function<void(const std::string& key_text)>& before_compile) {
  const KeyParts parts = kernel_key_parts(spec);
  return store.get_or_compile(
      parts.digest(), parts.key_text,
      [&] {
        if (before_compile) before_compile(parts.key_text);
        return compile_kernel(spec);
      },
      info);
}

std::shared_ptr<const Artifact> plan_artifact_for(const KernelSpec& spec, Stream stream) {
  return artifact_from_store(
      process_artifact_store(), spec, nullptr,
      [&](const std::string& key_text) { refuse_compile_during_capture(stream, key_text); });
}

}  // namespace moejit
