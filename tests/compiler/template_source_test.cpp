// Template files for NVRTC: the embedded bundle, directories on disk, the bundle hash, and the
// CUDA toolkit headers.
#include <gtest/gtest.h>

#include "compiler_test_util.hpp"
#include "moejit/error.hpp"
#include "runtime/cuda_toolkit.hpp"
#include "runtime/nvrtc_check.hpp"
#include "runtime/template_source.hpp"

namespace moejit {
namespace {

TEST(TemplateSource, BundleHashScheme) {
  // SHA-256 over "<path>\n<sha256 of text>\n" per file (computed independently).
  EXPECT_EQ(template_bundle_hash({{"a.cuh", "x"}, {"sub/b.cuh", "#pragma once\n"}}),
            "de1ce9a71ea3a8d2a6b7359ae9e0772e69d96e5f1fc38ecb56a87a32d3b3626b");
}

TEST(TemplateSource, SourceTreeHashesLikeTheBuild) {
  const TemplateSource embedded = TemplateSource::embedded();
  const TemplateSource disk =
      TemplateSource::from_directory(std::filesystem::path(MOEJIT_SOURCE_DIR) / "templates");
  ASSERT_EQ(disk.files().size(), embedded.files().size());
  for (std::size_t i = 0; i < disk.files().size(); ++i) {
    EXPECT_EQ(disk.files()[i].path, embedded.files()[i].path);
    EXPECT_TRUE(disk.files()[i].text == embedded.files()[i].text)
        << "templates/" << disk.files()[i].path << " differs from the embedded copy: rebuild";
  }
  EXPECT_EQ(disk.bundle_hash(), embedded.bundle_hash())
      << "templates/ differs from the embedded bundle: rebuild";
  EXPECT_FALSE(embedded.directory());
  EXPECT_TRUE(disk.directory());
}

TEST(TemplateSource, OneChangedByteChangesTheHash) {
  test::TempDir dir;
  const TemplateSource embedded = TemplateSource::embedded();
  embedded.write_to(dir.path());
  EXPECT_EQ(TemplateSource::from_directory(dir.path()).bundle_hash(), embedded.bundle_hash());
  // Files that are not .cuh are not templates.
  test::write_file(dir.path() / "notes.txt", "not a template");
  EXPECT_EQ(TemplateSource::from_directory(dir.path()).bundle_hash(), embedded.bundle_hash());
  const auto params = dir.path() / "moe_params.cuh";
  std::string text = test::read_file(params);
  text[text.size() / 2] ^= 1;
  test::write_file(params, text);
  EXPECT_NE(TemplateSource::from_directory(dir.path()).bundle_hash(), embedded.bundle_hash());
}

TEST(TemplateSource, MissingOrEmptyDirectoryIsAClearError) {
  test::TempDir dir;
  try {
    TemplateSource::from_directory(dir.path() / "absent");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidProblem);
    EXPECT_NE(std::string(e.what()).find("MOEJIT_TEMPLATE_DIR"), std::string::npos) << e.what();
  }
  try {
    TemplateSource::from_directory(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no .cuh file"), std::string::npos) << e.what();
  }
}

TEST(CudaToolkit, HeadersAreFoundAndMatchNvrtc) {
  const CudaToolkit& tk = cuda_toolkit();
  EXPECT_TRUE(std::filesystem::is_regular_file(tk.include_dir / "cuda_bf16.h"));
  EXPECT_TRUE(std::filesystem::is_regular_file(tk.include_dir / "mma.h"));
  EXPECT_EQ(tk.version, nvrtc_version().as_cuda_version());
  EXPECT_GE(nvrtc_version().major, 12);
}

}  // namespace
}  // namespace moejit
