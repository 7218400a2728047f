// How MoePlan::select gets the artifact of a spec: the caches first, NVRTC on a miss (refused
// while the caller's stream is being captured into a CUDA graph).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cache/artifact.hpp"
#include "codegen/kernel_spec.hpp"
#include "moejit/moe_plan.hpp"

namespace moejit {

class ArtifactStore;
struct LookupInfo;

// The artifact store of this process (Knobs::get()), created on first use. Thread-safe.
ArtifactStore& process_artifact_store();

// The one path from a spec to its artifact: the key parts of `spec` (kernel_key_parts), then
// `store` by their digest, compiled with compile_kernel and published on a miss. `before_compile`
// (when set) runs with the key text just before compiling and may throw to refuse. `info` says
// where the artifact came from. Used by plan_artifact_for and by `moejit precompile` / `inspect`
// with a store of their own. Throws what the store and the compiler throw.
std::shared_ptr<const Artifact> artifact_from_store(
    ArtifactStore& store, const KernelSpec& spec, LookupInfo* info = nullptr,
    const std::function<void(const std::string& key_text)>& before_compile = {});

// The artifact of `spec` from the in-memory, read-only and writable caches, compiled and stored on
// a miss. Throws Error(Unsupported) when it would compile while `stream` (null: the legacy
// stream) is being captured, and what the cache and the compiler throw.
std::shared_ptr<const Artifact> plan_artifact_for(const KernelSpec& spec, Stream stream);

// Throws Error(Unsupported) when `stream` is being captured into a CUDA graph; does nothing
// without a driver or when no context is current and the stream is the legacy one.
void refuse_compile_during_capture(Stream stream, const std::string& kernel_key);

}  // namespace moejit
