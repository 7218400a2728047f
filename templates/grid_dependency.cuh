// Programmatic dependent launch (sm_90+). Every moejit call is a helper kernel (q8_1 quantizer,
// expert offsets) followed by the main kernel, both launched programmatically on sm_90+:
//   - the helper waits for the stream's previous kernel before it reads anything, then lets the
//     main kernel launch; the main kernel waits for the helper only where it first reads what the
//     helper wrote (its routing and weight reads before that are safe: it is launched only once
//     the helper's wait has returned, so after everything before the call has completed);
//   - the main kernel lets the next kernel of the stream launch from its start, so the next
//     call's helper is scheduled while this call runs and starts the moment it completes.
// Below sm_90, and for a kernel launched without the programmatic stream-serialization
// attribute, both functions are no-ops and launches stay fully ordered.
#pragma once

namespace moejit {

// Lets the next kernel of the stream, when launched programmatically, start its CTAs now. It still
// cannot read this kernel's results before grid_dependency_wait returns.
__device__ __forceinline__ void grid_dependency_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Blocks until the grids this kernel depends on have completed and their memory writes are
// visible. Loads issued before it stay in flight (they must not read those grids' results).
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

}  // namespace moejit
