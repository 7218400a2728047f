// The plan memo: its key tells apart every field a plan depends on, a repeated select returns the
// same plan, and the memo starts over when full.
#include "runtime/plan_memo.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "runtime/plan_state.hpp"

namespace moejit {
namespace {

MoeDescriptor base_descriptor() {
  MoeDescriptor d;
  d.num_tokens = 4;
  d.num_experts = 8;
  d.top_k = 2;
  d.d_model = 256;
  d.d_expert = 64;
  d.variant = MoeVariant::WmmaGguf;
  d.block_format = GgufBlockFormat::Q4_K;
  d.element = ElementKind::Bf16;
  return d;
}

TEST(PlanMemoKey, TellsApartEveryFieldAPlanDependsOn) {
  const MoeDescriptor d = base_descriptor();
  const PlanPreference p;
  const GpuArch sm90{90, false};
  std::vector<std::string> keys{PlanMemo::key(d, p, sm90, 0, true)};
  const auto with = [&](auto change) {
    MoeDescriptor dd = d;
    PlanPreference pp = p;
    GpuArch arch = sm90;
    int device = 0;
    bool from_device = true;
    change(dd, pp, arch, device, from_device);
    keys.push_back(PlanMemo::key(dd, pp, arch, device, from_device));
  };
  using D = MoeDescriptor;
  using P = PlanPreference;
  with([](D& x, P&, GpuArch&, int&, bool&) { x.num_tokens = 5; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.num_experts = 16; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.top_k = 1; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.d_model = 512; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.d_expert = 128; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.variant = MoeVariant::ScalarGguf; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.block_format = GgufBlockFormat::Q6_K; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.block_format.reset(); });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.element = ElementKind::F16; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.is_prefill = true; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.tile = TileRequest{16, 64, 64, 4, 3}; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.tile = TileRequest{16, 64, 64, 4, 4}; });
  with([](D& x, P&, GpuArch&, int&, bool&) { x.tile = TileRequest{16, 64, 64, 4, 4, true}; });
  with([](D&, P& x, GpuArch&, int&, bool&) { x.arch = "sm_90"; });
  with([](D&, P& x, GpuArch&, int&, bool&) { x.device = 1; });
  with([](D&, P& x, GpuArch&, int&, bool&) { x.specialize_sizes = true; });
  with([](D&, P& x, GpuArch&, int&, bool&) { x.tile_table = "table.json"; });
  with([](D&, P&, GpuArch& a, int&, bool&) { a.arch_specific = true; });
  with([](D&, P&, GpuArch&, int& device, bool&) { device = 1; });
  with([](D&, P&, GpuArch&, int&, bool& from_device) { from_device = false; });
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  // The stream decides only whether a compile may run: not part of the key.
  PlanPreference streamed;
  streamed.stream = reinterpret_cast<Stream>(0x1234);
  EXPECT_EQ(PlanMemo::key(d, streamed, sm90, 0, true), keys.front());
}

TEST(PlanMemo, FindsWhatWasInsertedAndStartsOverWhenFull) {
  PlanMemo memo;
  auto state = std::make_shared<MoePlan::State>();
  EXPECT_EQ(memo.find("a"), nullptr);
  memo.insert("a", state);
  EXPECT_EQ(memo.find("a"), state);
  for (std::size_t i = 1; i < PlanMemo::kMaxPlans; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    memo.insert(key, std::make_shared<MoePlan::State>());
  }
  EXPECT_EQ(memo.size(), PlanMemo::kMaxPlans);
  memo.insert("one more", std::make_shared<MoePlan::State>());
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_EQ(memo.find("a"), nullptr);
  memo.clear();
  EXPECT_EQ(memo.size(), 0u);
}

}  // namespace
}  // namespace moejit
