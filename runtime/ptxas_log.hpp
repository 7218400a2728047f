// Reads per-kernel resource usage (registers, shared, stack, spills) from the "ptxas info" lines
// that --ptxas-options=-v adds to an NVRTC log.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cache/artifact.hpp"

namespace moejit {

// Resource usage of every entry function ptxas reported, by lowered name. Recognises
//   ptxas info    : Compiling entry function '<name>' for 'sm_90'
//   ptxas info    : Function properties for <name>
//   ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 32 registers, used 1 barriers, 1024 bytes smem
// shared_dynamic_bytes is left 0 (ptxas cannot know it). Lines it does not recognise are ignored.
std::map<std::string, KernelResources> parse_ptxas_resources(std::string_view log);

}  // namespace moejit
