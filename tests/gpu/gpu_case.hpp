// GPU test cases: one MoE problem (variant, format, element type, shape, routing), its random
// host operands, a run through MoePlan on the device with a NaN-poisoned output, and the check
// of every element against the double-precision CPU reference and the precision guarantee.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "moejit/moe_plan.hpp"
#include "moejit/precision.hpp"
#include "moejit/reference.hpp"
#include "runtime/device_memory.hpp"

// Skips the test (with the reason) when no CUDA driver or device is present.
#define MOEJIT_REQUIRE_GPU()                                                                  \
  do {                                                                                        \
    if (!::moejit::gputest::have_gpu())                                                       \
      GTEST_SKIP() << "no CUDA driver or device on this machine: run the gpu tests on a GPU " \
                      "machine (scripts/device-check.sh)";                                    \
  } while (0)

namespace moejit::gputest {

bool have_gpu();

enum class RoutingKind {
  Random,     // each token picks top_k distinct random experts
  OneExpert,  // every token's slot j goes to expert (hot + j) % E: one hot expert per slot
};

struct Case {
  MoeVariant variant = MoeVariant::Wmma;
  std::optional<GgufBlockFormat> format;
  ElementKind element = ElementKind::F16;
  int tokens = 1;
  int experts = 8;
  int top_k = 1;
  int n = 64;
  int k = 256;
  bool prefill = false;
  bool weighted = true;  // pass top-k weights (else null)
  RoutingKind routing = RoutingKind::Random;
  bool invalid_entries = false;  // add entries with out-of-range expert and pair ids
  bool shuffled = false;  // entries in random order, not sorted by expert (ScalarGguf allows it)
  std::optional<TileRequest> tile;  // pinned tile (else the default tile)
  std::uint32_t seed = 1;

  // A case of `v` with this shape, every other field at its default.
  static Case of(MoeVariant v, int tokens, int experts, int top_k, int n, int k);

  MoeDescriptor descriptor() const;
  // A readable name for gtest ("wmma_gguf_q4_k_bf16_T150_E16_k2_N136_K512_prefill_unweighted").
  std::string name() const;
};

// Random operands of a case on the host, in the layouts the kernels take.
struct HostOperands {
  ref::MoeShape shape;
  std::vector<float> activations_f32;           // ScalarGguf
  std::vector<std::uint16_t> activations_bits;  // Wmma, WmmaGguf
  std::vector<std::uint8_t> weight_blocks;      // GGUF variants
  std::vector<std::uint16_t> weight_bits;       // Wmma
  std::vector<std::int32_t> sorted_ids;
  std::vector<std::int32_t> expert_ids;
  std::vector<float> topk_weights;  // empty when the case is unweighted

  ref::MoeProblem problem(const Case& c) const;
};

HostOperands make_operands(const Case& c);

// A case's operands on the device, with the MoeArgs that point at them.
struct DeviceOperands {
  DeviceBuffer activations, weights, sorted_ids, expert_ids, topk_weights, output, workspace;
  MoeArgs args;
  ElementKind output_element = ElementKind::F32;  // filled with its quiet NaN by poison()
  // Fills the output with NaN and the workspace with garbage (0xA5 bytes).
  void poison();
};

DeviceOperands upload_operands(const Case& c, const HostOperands& ops, std::size_t workspace_bytes);

// Checks the device output of a run against the double reference and the plan's guarantee.
CheckResult check_device_output(const Case& c, const HostOperands& ops, const MoePlan& plan,
                                const DeviceOperands& device);

// What a run produced.
struct RunOutcome {
  CheckResult check;
  std::string sku;
};

// Selects the plan (on the current device), uploads fresh random operands, fills the output with
// NaN, runs, and checks every element against the reference. Throws what select and run throw.
RunOutcome run_case(const Case& c);

// The checks of every correctness test: every element of a targeted row within the plan's
// guarantee, every such element written, no other row touched.
void expect_correct(const RunOutcome& r);

// Selects every case's plan on a thread pool, so that the tests that follow find the kernels in
// the cache. Errors are left for the tests to report.
void prewarm(const std::vector<Case>& cases);

// The fixture of a parameterized suite over cases(): every case's kernel is compiled (prewarm)
// before the suite's first test.
template <std::vector<Case> (*kCases)()>
class PrewarmedCases : public ::testing::TestWithParam<Case> {
 public:
  static void SetUpTestSuite() { prewarm(kCases()); }
};

// How gtest prints a case (its name, not its bytes).
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name(); }

// gtest parameter-name printer.
struct CaseName {
  std::string operator()(const ::testing::TestParamInfo<Case>& info) const {
    return info.param.name();
  }
};

}  // namespace moejit::gputest
