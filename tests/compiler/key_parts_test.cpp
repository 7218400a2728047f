// Cache key parts and their digest: every part matters, templates on disk rehash, and one changed
// template byte changes the digest of every kernel.
#include <gtest/gtest.h>

#include <set>

#include "codegen/kernel_key.hpp"
#include "compiler_test_util.hpp"
#include "runtime/compiler.hpp"
#include "runtime/nvrtc_check.hpp"

namespace moejit {
namespace {

KeyParts sample() {
  KeyParts k;
  k.key_text = "wmma:f16:sm_80:32x32x16:w4:s1";
  k.codegen_version = kCodegenVersion;
  k.template_bundle_hash = std::string(64, 'a');
  k.nvrtc_version = "13.0";
  k.arch = "sm_80";
  k.options = {"--gpu-architecture=sm_80", "--ptxas-options=-v", "-lineinfo", "-std=c++17"};
  return k;
}

TEST(KeyParts, DigestIsStableHex) {
  const KeyParts k = sample();
  const std::string d = k.digest();
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(d, sample().digest());
}

TEST(KeyParts, EveryPartChangesTheDigest) {
  const std::string base = sample().digest();
  std::vector<KeyParts> variants(8, sample());
  variants[0].key_text += ":k=2048";
  variants[1].codegen_version += 1;
  variants[2].template_bundle_hash[0] = 'b';
  variants[3].nvrtc_version = "13.1";
  variants[4].arch = "sm_90a";
  variants[5].options.push_back("-DX=1");
  variants[6].options.pop_back();
  variants[7].knobs.emplace_back("cuda_headers", "12080");
  std::set<std::string> digests{base};
  for (const KeyParts& k : variants) digests.insert(k.digest());
  EXPECT_EQ(digests.size(), variants.size() + 1);
}

TEST(KeyParts, SerialisationCannotBeConfusedByJoinedValues) {
  KeyParts a = sample(), b = sample();
  a.options = {"-Da", "-Db"};
  b.options = {"-Da\noption 3 -Db"};
  EXPECT_NE(a.digest(), b.digest());
}

TEST(KeyParts, DescribeListsEveryPart) {
  const auto parts = sample().describe();
  std::vector<std::string> labels;
  for (const auto& [label, value] : parts) labels.push_back(label);
  EXPECT_EQ(labels,
            (std::vector<std::string>{"digest", "kernel key", "codegen version", "template bundle",
                                      "nvrtc version", "arch", "options", "code-changing knobs"}));
  EXPECT_EQ(parts[0].second, sample().digest());
  EXPECT_EQ(parts[7].second, "none");
}

TEST(KeyParts, FromASpec) {
  const TemplateSource embedded = TemplateSource::embedded();
  CompileOptions opts;
  opts.templates = &embedded;
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q4_k:bf16:sm_90a");
  const KeyParts k = kernel_key_parts(spec, opts);
  EXPECT_EQ(k.key_text, kernel_key_text(spec));
  EXPECT_EQ(k.codegen_version, kCodegenVersion);
  EXPECT_EQ(k.template_bundle_hash, embedded.bundle_hash());
  EXPECT_EQ(k.nvrtc_version, nvrtc_version().to_string());
  EXPECT_EQ(k.arch, "sm_90a");
  EXPECT_TRUE(std::is_sorted(k.options.begin(), k.options.end()));
  EXPECT_TRUE(k.knobs.empty()) << "toolkit headers and libnvrtc differ in version";
}

TEST(KeyParts, OneTemplateByteChangesEveryDigest) {
  test::TempDir dir;
  const TemplateSource embedded = TemplateSource::embedded();
  embedded.write_to(dir.path());
  const TemplateSource same = TemplateSource::from_directory(dir.path());
  // moe_params.cuh is included by every kernel.
  const auto params = dir.path() / "moe_params.cuh";
  test::write_file(params, test::read_file(params) + " ");
  const TemplateSource edited = TemplateSource::from_directory(dir.path());

  std::set<std::string> digests;
  std::size_t count = 0;
  for (const char* arch : {"sm_80", "sm_90"}) {
    for (const KernelSpec& spec : test::all_default_specs(arch)) {
      CompileOptions o;
      o.templates = &embedded;
      const std::string a = kernel_key_parts(spec, o).digest();
      o.templates = &same;
      EXPECT_EQ(kernel_key_parts(spec, o).digest(), a) << kernel_key_text(spec);
      o.templates = &edited;
      const std::string b = kernel_key_parts(spec, o).digest();
      EXPECT_NE(a, b) << kernel_key_text(spec);
      digests.insert(a);
      digests.insert(b);
      count += 2;
    }
  }
  EXPECT_EQ(digests.size(), count) << "two kernels share a digest";
}

}  // namespace
}  // namespace moejit
