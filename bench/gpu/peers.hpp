// The shapes the GPU benchmark tracks and the peer timings of shared/docs/performance.md (one
// H100 80GB HBM3, CUDA 13.0, 2026-11-22), embedded as data, with the machine's ceilings.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "moejit/types.hpp"

namespace moejit::gpubench {

// Ceilings of an H100 80GB HBM3 (performance.md): streaming bandwidth and bf16 dense peak.
inline constexpr double kPeakBytesPerSecond = 3.0e12;
inline constexpr double kPeakFlopsPerSecond = 790e12;

// The token counts performance.md measures its peers at.
inline constexpr std::array<int, 5> kPeerTokens{1, 8, 32, 128, 512};

struct Shape {
  std::string_view name;    // "qwen3-30b-a3b"
  std::string_view option;  // its --shape value, "qwen3"
  int experts = 0;
  int top_k = 0;
  int n = 0;  // d_expert
  int k = 0;  // d_model
};

inline constexpr std::array<Shape, 2> kShapes{{
    {"qwen3-30b-a3b", "qwen3", 128, 8, 768, 2048},
    {"mixtral-8x7b", "mixtral", 8, 2, 14336, 4096},
}};

// The best peer time of one point: which peer it is and its µs.
struct PeerTime {
  std::string name;  // "ggml q4_K", "Triton bf16"
  double us = 0;
};

// The peer a point compares with, or nullopt when performance.md has none for it. GGUF weight
// formats: ggml's MUL_MAT_ID time for that format. Dense bf16: the faster of vLLM's Triton kernel
// and ggml bf16. Dense f16 has no peer.
std::optional<PeerTime> best_peer(const Shape& shape, std::optional<GgufBlockFormat> format,
                                  ElementKind element, int tokens);

}  // namespace moejit::gpubench
