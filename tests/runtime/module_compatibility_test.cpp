// Which devices may load a cubin built for a target architecture.
#include <gtest/gtest.h>

#include "runtime/module_cache.hpp"

namespace moejit {
namespace {

TEST(ModuleCompatibility, SameMajorAndNewerMinorRuns) {
  EXPECT_TRUE(can_run(GpuArch{86, false}, GpuArch{80, false}));
  EXPECT_TRUE(can_run(GpuArch{89, false}, GpuArch{86, false}));
  EXPECT_TRUE(can_run(GpuArch{90, false}, GpuArch{90, false}));
}

TEST(ModuleCompatibility, OlderMinorOrOtherMajorDoesNot) {
  EXPECT_FALSE(can_run(GpuArch{80, false}, GpuArch{86, false}));
  EXPECT_FALSE(can_run(GpuArch{90, false}, GpuArch{80, false}));
  EXPECT_FALSE(can_run(GpuArch{100, false}, GpuArch{90, false}));
}

TEST(ModuleCompatibility, ArchSpecificTargetsNeedAnExactMatch) {
  EXPECT_TRUE(can_run(GpuArch{90, false}, GpuArch{90, true}));
  EXPECT_FALSE(can_run(GpuArch{100, false}, GpuArch{90, true}));
}

}  // namespace
}  // namespace moejit
