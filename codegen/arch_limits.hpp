// Per-architecture hardware limits the tile rules check against.
#pragma once

#include <optional>
#include <string_view>

#include "codegen/kernel_spec.hpp"

namespace moejit {

struct ArchLimits {
  int max_shared_per_block;       // bytes of dynamic shared memory a block may opt into
  int shared_per_sm;              // shared memory of one multiprocessor (blocks share it)
  int reserved_shared_per_block;  // what the driver keeps per resident block
  int max_threads_per_block;
  int max_threads_per_sm;
  int registers_per_sm;
  int max_registers_per_thread;
};

constexpr ArchLimits arch_limits(const GpuArch& arch) {
  // sm_80 and sm_87: 163 KiB; sm_86 and sm_89: 99 KiB; sm_90: 227 KiB (per block, opt-in), of
  // 164, 100 and 228 KiB per multiprocessor.
  int smem = 48 * 1024;
  if (arch.sm == 80 || arch.sm == 87)
    smem = 163 * 1024;
  else if (arch.sm == 86 || arch.sm == 89)
    smem = 99 * 1024;
  else if (arch.sm >= 90)
    smem = 227 * 1024;
  const int threads_per_sm = (arch.sm == 86 || arch.sm == 89) ? 1536 : 2048;
  return ArchLimits{smem, smem + 1024, 1024, 1024, threads_per_sm, 65536, 255};
}

// Streaming multiprocessors of the usual part of each architecture (A100, A40 / RTX 3090,
// Jetson AGX Orin, L40 / RTX 4090, H100 SXM), for the CTA-count rules of the default tiles.
constexpr int typical_sm_count(const GpuArch& arch) {
  switch (arch.sm) {
    case 80:
      return 108;
    case 86:
      return 84;
    case 87:
      return 16;
    case 89:
      return 128;
    default:
      return 132;
  }
}

// The architectures moejit generates code for.
inline constexpr int kSupportedSm[] = {80, 86, 87, 89, 90};

// Whether tensor-core kernels for `arch` may use warpgroup MMAs (wgmma): sm_90a only.
constexpr bool has_warpgroup_mma(const GpuArch& arch) {
  return arch.sm == 90 && arch.arch_specific;
}

// The target a kernel of `variant` is generated for on a device (or fleet) of architecture
// `arch`: tensor-core kernels (Wmma, WmmaGguf) for sm_90 target sm_90a, where their warpgroup
// tiles run on wgmma; every other kernel targets `arch` itself.
constexpr GpuArch kernel_target(MoeVariant variant, const GpuArch& arch) {
  if (variant != MoeVariant::ScalarGguf && arch.sm == 90) return GpuArch{90, true};
  return arch;
}

// Parses "sm_80", "sm_90a", "80", "9.0" into a GpuArch; nullopt when not supported.
std::optional<GpuArch> parse_arch(std::string_view text);

}  // namespace moejit
