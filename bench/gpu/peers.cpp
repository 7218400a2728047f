// Peer timings of shared/docs/performance.md (µs per call of the expert GEMM, H100 80GB HBM3).
#include "bench/gpu/peers.hpp"

#include <algorithm>
#include <cstddef>

namespace moejit::gpubench {
namespace {

using Row = std::array<double, kPeerTokens.size()>;  // one value per kPeerTokens entry

struct GgmlColumn {
  GgufBlockFormat format;
  std::string_view name;  // as performance.md spells it
  Row us;
};

struct PeerTable {
  std::string_view shape;
  Row triton_bf16;
  Row ggml_bf16;
  std::array<GgmlColumn, 7> ggml;  // unused entries have an empty name
};

constexpr std::array<PeerTable, 2> kTables{{
    {"qwen3-30b-a3b",
     {18.6, 70.6, 137, 150, 156},
     {14.9, 65.5, 138, 192, 559},
     {{
         {GgufBlockFormat::Q8_0, "q8_0", {9.2, 41.6, 149, 284, 329}},
         {GgufBlockFormat::Q4_0, "q4_0", {7.5, 22.0, 142, 272, 323}},
         {GgufBlockFormat::Q2_K, "q2_K", {9.3, 26.1, 189, 454, 542}},
         {GgufBlockFormat::Q3_K, "q3_K", {11.1, 52.3, 182, 367, 421}},
         {GgufBlockFormat::Q4_K, "q4_K", {9.6, 26.4, 143, 300, 353}},
         {GgufBlockFormat::Q5_K, "q5_K", {9.3, 31.5, 154, 313, 365}},
         {GgufBlockFormat::Q6_K, "q6_K", {10.1, 44.2, 158, 374, 438}},
     }}},
    {"mixtral-8x7b",
     {93.7, 320, 323, 330, 403},
     {94.7, 264, 362, 1051, 529},
     {{
         {GgufBlockFormat::Q8_0, "q8_0", {47.3, 236, 332, 623, 902}},
         {GgufBlockFormat::Q4_K, "q4_K", {37.6, 187, 310, 657, 1172}},
         {GgufBlockFormat::Q6_K, "q6_K", {59.9, 327, 404, 815, 1218}},
     }}},
}};

}  // namespace

std::optional<PeerTime> best_peer(const Shape& shape, std::optional<GgufBlockFormat> format,
                                  ElementKind element, int tokens) {
  const auto at = std::find(kPeerTokens.begin(), kPeerTokens.end(), tokens);
  if (at == kPeerTokens.end()) return std::nullopt;
  const auto column = static_cast<std::size_t>(at - kPeerTokens.begin());
  const auto table = std::find_if(kTables.begin(), kTables.end(),
                                  [&](const PeerTable& t) { return t.shape == shape.name; });
  if (table == kTables.end()) return std::nullopt;
  if (format) {
    for (const GgmlColumn& c : table->ggml)
      if (!c.name.empty() && c.format == *format)
        return PeerTime{std::string("ggml ").append(c.name), c.us[column]};
    return std::nullopt;
  }
  if (element != ElementKind::Bf16) return std::nullopt;
  const double triton = table->triton_bf16[column];
  const double ggml = table->ggml_bf16[column];
  if (triton <= ggml) return PeerTime{"Triton bf16", triton};
  return PeerTime{"ggml bf16", ggml};
}

}  // namespace moejit::gpubench
