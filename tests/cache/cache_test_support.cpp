// Fake artifacts, scratch directories, file damage and child processes for the cache tests.
#include "cache_test_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "cache/entry_io.hpp"
#include "cache/sha256.hpp"

extern char** environ;

namespace moejit::cachetest {

namespace fs = std::filesystem;

Artifact make_artifact(const std::string& key_text, std::size_t cubin_bytes) {
  Artifact a;
  a.key_text = key_text;
  a.digest = sha256_hex(key_text);
  a.arch = "sm_90a";
  a.source = "// " + key_text + "\n#include \"moe_params.cuh\"\ntemplate __global__ void k<4>();\n";
  a.options = {"--gpu-architecture=sm_90a", "-std=c++17", "-default-device", "-DMOEJIT=1"};
  a.log = "ptxas info    : Used 96 registers, 8192 bytes smem\n";
  a.ptx = "//\n// fake PTX for " + key_text + "\n.version 8.8\n.target sm_90a\n";
  std::seed_seq seed(a.digest.begin(), a.digest.end());
  std::mt19937_64 rng(seed);
  a.cubin.resize(cubin_bytes);
  for (auto& b : a.cubin) b = static_cast<std::uint8_t>(rng());
  KernelEntry k;
  k.name_expression = "moejit::k<4>";
  k.lowered_name = "_ZN6moejit1kILi4EEEvv";
  k.resources = KernelResources{96, 8192, 32768, 16, 4, 8};
  a.kernels = {k,
               KernelEntry{"moejit::aux", "_ZN6moejit3auxEv", KernelResources{12, 0, 0, 0, 0, 0}}};
  a.compile_ms = 1234.5678;
  return a;
}

bool same_artifact(const Artifact& a, const Artifact& b) {
  if (a.kernels.size() != b.kernels.size()) return false;
  for (std::size_t i = 0; i < a.kernels.size(); ++i) {
    const auto& x = a.kernels[i];
    const auto& y = b.kernels[i];
    const auto& r = x.resources;
    const auto& s = y.resources;
    if (x.name_expression != y.name_expression || x.lowered_name != y.lowered_name ||
        r.registers != s.registers || r.shared_static_bytes != s.shared_static_bytes ||
        r.shared_dynamic_bytes != s.shared_dynamic_bytes || r.local_bytes != s.local_bytes ||
        r.spill_store_bytes != s.spill_store_bytes || r.spill_load_bytes != s.spill_load_bytes)
      return false;
  }
  return a.key_text == b.key_text && a.digest == b.digest && a.arch == b.arch &&
         a.source == b.source && a.options == b.options && a.log == b.log && a.ptx == b.ptx &&
         a.cubin == b.cubin && a.compile_ms == b.compile_ms;
}

std::string CountingCompiler::digest() const { return sha256_hex(key_text); }

ScratchDir::ScratchDir() {
  std::string tmpl = (fs::temp_directory_path() / "moejit-cache-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Knobs test_knobs(const fs::path& cache_dir) {
  Knobs k;
  k.cache_dir = cache_dir;
  return k;
}

std::vector<fs::path> children_of(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path());
  return out;
}

std::vector<fs::path> entry_dirs(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& shard : children_of(root / entry_format_dir_name())) {
    std::string name = shard.filename().string();
    if (name.size() != 2) continue;
    for (const auto& e : children_of(shard)) out.push_back(e);
  }
  return out;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(c);
  if (!f) throw std::runtime_error("cannot flip a byte of " + file.string());
}

void truncate_file(const fs::path& file, std::uint64_t size) { fs::resize_file(file, size); }

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t p = text.find(needle); p != std::string::npos;
       p = text.find(needle, p + needle.size()))
    ++n;
  return n;
}

pid_t spawn_child(const std::string& role, const std::map<std::string, std::string>& env,
                  const fs::path& stdout_file, const fs::path& stderr_file) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  vars["MOEJIT_CACHE_TEST_ROLE"] = role;
  for (const auto& [k, v] : env) vars[k] = v;
  std::vector<std::string> strings;
  for (const auto& [k, v] : vars) strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string exe = fs::read_symlink("/proc/self/exe").string();
  char* argv[] = {exe.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn");
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string child_role() {
  const char* r = std::getenv("MOEJIT_CACHE_TEST_ROLE");
  return r ? r : "";
}

}  // namespace moejit::cachetest
