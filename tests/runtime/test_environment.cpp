// Points the kernel cache of the runtime tests at the build tree (unless MOEJIT_CACHE_DIR is set).
#include <gtest/gtest.h>

#include <cstdlib>

namespace {

class CacheEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { setenv("MOEJIT_CACHE_DIR", MOEJIT_BINARY_DIR "/test-cache", 0); }
};

[[maybe_unused]] const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new CacheEnvironment);

}  // namespace
