// Failed compiles: CompileError with key, log, options, dumped source and a reproduction command;
// dumps of successful compiles, and that the dumped nvcc command really compiles them.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cache/knobs.hpp"
#include "codegen/kernel_key.hpp"
#include "compiler_test_util.hpp"
#include "runtime/compiler.hpp"
#include "runtime/cuda_toolkit.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;

bool have_nvcc() {
  const fs::path nvcc = cuda_toolkit().include_dir.parent_path() / "bin" / "nvcc";
  return fs::is_regular_file(nvcc);
}

// The text after "<label>: " up to the end of its line.
std::string field(const std::string& msg, const std::string& label) {
  const std::size_t at = msg.find("\n" + label + ": ");
  if (at == std::string::npos) return "";
  const std::size_t start = at + label.size() + 3;
  return msg.substr(start, msg.find('\n', start) - start);
}

class BrokenTemplate : public ::testing::Test {
 protected:
  void SetUp() override {
    TemplateSource::embedded().write_to(dir_.path() / "templates");
    const fs::path params = dir_.path() / "templates" / "moe_params.cuh";
    test::write_file(params, test::read_file(params) +
                                 "\nnamespace moejit { deliberately_broken_template x; }\n");
    templates_ = TemplateSource::from_directory(dir_.path() / "templates");
  }
  test::TempDir dir_;
  TemplateSource templates_;
};

TEST_F(BrokenTemplate, CompileErrorCarriesLogOptionsSourceAndRepro) {
  const KernelSpec spec = parse_kernel_spec("wmma:f16:sm_80");
  CompileOptions opts;
  opts.templates = &templates_;
  opts.dump_dir = dir_.path() / "dump";
  try {
    compile_kernel(spec, opts);
    FAIL() << "a broken template compiled";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::CompileError);
    EXPECT_NE(msg.find(kernel_key_text(spec)), std::string::npos) << msg;
    EXPECT_NE(msg.find("NVRTC log:\n"), std::string::npos) << msg;
    EXPECT_NE(msg.find("deliberately_broken_template"), std::string::npos) << msg;
    EXPECT_NE(field(msg, "options").find("--gpu-architecture=sm_80"), std::string::npos) << msg;
    const fs::path source = field(msg, "source");
    ASSERT_TRUE(fs::is_regular_file(source)) << msg;
    EXPECT_EQ(source.parent_path().parent_path(), dir_.path() / "dump");
    EXPECT_EQ(test::read_file(source), emit_source(spec).code);
    const std::string repro = field(msg, "reproduce");
    EXPECT_NE(repro.find("nvcc' -cubin"), std::string::npos) << repro;
    if (!have_nvcc()) GTEST_SKIP() << "nvcc not installed: the reproduction command was not run";
    EXPECT_NE(std::system((repro + " > /dev/null 2>&1").c_str()), 0)
        << "the reproduction command did not fail: " << repro;
  }
}

TEST_F(BrokenTemplate, TryCompileReturnsTheError) {
  CompileOptions opts;
  opts.templates = &templates_;
  opts.dump_dir = dir_.path() / "dump";
  auto result = try_compile_kernel(parse_kernel_spec("scalar_gguf:q4_0:sm_90"), opts);
  ASSERT_TRUE(std::holds_alternative<Error>(result));
  EXPECT_EQ(std::get<Error>(result).code(), ErrorCode::CompileError);
  KernelSpec bad = parse_kernel_spec("wmma:f16:sm_80");
  bad.element = ElementKind::F32;
  auto invalid = try_compile_kernel(bad, opts);
  ASSERT_TRUE(std::holds_alternative<Error>(invalid));
  EXPECT_EQ(std::get<Error>(invalid).code(), ErrorCode::InvalidProblem);
}

TEST_F(BrokenTemplate, WithoutADumpDirTheSourceGoesToTheTempDir) {
  if (Knobs::get().dump_dir) GTEST_SKIP() << "MOEJIT_DUMP_DIR is set in this environment";
  CompileOptions opts;
  opts.templates = &templates_;
  try {
    compile_kernel(parse_kernel_spec("wmma:bf16:sm_90"), opts);
    FAIL();
  } catch (const Error& e) {
    const fs::path source = field(e.what(), "source");
    ASSERT_TRUE(fs::is_regular_file(source)) << e.what();
    const fs::path root = source.parent_path().parent_path();
    EXPECT_EQ(root.parent_path(), fs::temp_directory_path());
    EXPECT_EQ(root.filename().string().rfind("moejit-compile-", 0), 0u) << root;
    fs::remove_all(root);
  }
}

TEST(CompileDump, SuccessfulCompileIsDumpedAndTheCommandReproducesIt) {
  test::TempDir dir;
  const TemplateSource templates = TemplateSource::embedded();
  CompileOptions opts;
  opts.templates = &templates;
  opts.dump_dir = dir.path();
  const Artifact art = compile_kernel(parse_kernel_spec("wmma_gguf:q4_k:bf16:sm_90"), opts);
  fs::path kdir;
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().filename().string().rfind("wmma_gguf.q4_k.bf16.sm_90.", 0) == 0) kdir = e.path();
  ASSERT_FALSE(kdir.empty());
  EXPECT_EQ(test::read_file(kdir / "kernel.cu"), art.source);
  EXPECT_EQ(test::read_file(kdir / "kernel.ptx"), art.ptx);
  EXPECT_EQ(test::read_file(kdir / "nvrtc.log"), art.log);
  EXPECT_NE(test::read_file(kdir / "key.txt").find("digest: " + art.digest), std::string::npos);
  EXPECT_TRUE(
      fs::is_directory(dir.path() / ("templates-" + templates.bundle_hash().substr(0, 16))));
  if (!have_nvcc()) GTEST_SKIP() << "nvcc not installed: the reproduction command was not run";
  const std::string script = (kdir / "repro.sh").string();
  ASSERT_EQ(
      std::system(("sh '" + script + "' > '" + (kdir / "nvcc.log").string() + "' 2>&1").c_str()), 0)
      << test::read_file(kdir / "nvcc.log");
  EXPECT_GT(fs::file_size(kdir / "kernel.cubin"), 0u);
}

}  // namespace
}  // namespace moejit
