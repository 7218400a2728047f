// Resource usage read from ptxas -v lines of an NVRTC log.
#include <gtest/gtest.h>

#include "runtime/ptxas_log.hpp"

namespace moejit {
namespace {

TEST(PtxasLog, ReadsEveryEntryFunction) {
  const char* log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function '_Z4mainPf' for 'sm_90a'\n"
      "ptxas info    : Function properties for _Z4mainPf\n"
      "ptxas         .     24 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers, 6144 bytes smem, 400 bytes cmem[0]\n"
      "ptxas info    : Compile time = 16.193 ms\n"
      "ptxas info    : Function properties for _Z6helperv\n"
      "ptxas         .     64 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Compiling entry function '_Z4scanPi' for 'sm_90a'\n"
      "ptxas info    : Function properties for _Z4scanPi\n"
      "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 10 registers, used 0 barriers\n";
  const auto r = parse_ptxas_resources(log);
  ASSERT_EQ(r.size(), 2u);
  const KernelResources& m = r.at("_Z4mainPf");
  EXPECT_EQ(m.registers, 168);
  EXPECT_EQ(m.shared_static_bytes, 6144);
  EXPECT_EQ(m.local_bytes, 24);
  EXPECT_EQ(m.spill_store_bytes, 8);
  EXPECT_EQ(m.spill_load_bytes, 12);
  EXPECT_EQ(m.shared_dynamic_bytes, 0);
  const KernelResources& s = r.at("_Z4scanPi");
  EXPECT_EQ(s.registers, 10);
  EXPECT_EQ(s.shared_static_bytes, 0);
  EXPECT_EQ(s.local_bytes, 0);
}

TEST(PtxasLog, NvccFormAndNoiseAreHandled) {
  const char* log =
      "moejit_kernel.cu(3): warning #177-D: variable was declared but never referenced\n"
      "ptxas info    : Compiling entry function '_Z1kv' for 'sm_80'\n"
      "ptxas info    : Function properties for _Z1kv\n"
      "    16 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n"
      "ptxas info    : Used 40 registers, used 1 barriers, 32 bytes smem\n";
  const auto r = parse_ptxas_resources(log);
  ASSERT_EQ(r.count("_Z1kv"), 1u);
  EXPECT_EQ(r.at("_Z1kv").registers, 40);
  EXPECT_EQ(r.at("_Z1kv").local_bytes, 16);
  EXPECT_EQ(r.at("_Z1kv").spill_store_bytes, 4);
  EXPECT_EQ(r.at("_Z1kv").shared_static_bytes, 32);
}

TEST(PtxasLog, EmptyLogGivesNothing) {
  EXPECT_TRUE(parse_ptxas_resources("").empty());
  EXPECT_TRUE(parse_ptxas_resources("ptxas info    : 0 bytes gmem\n").empty());
}

}  // namespace
}  // namespace moejit
