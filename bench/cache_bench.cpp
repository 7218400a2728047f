// Kernel cache benchmarks: a disk-cache hit from a fresh store (read, verify every checksum,
// bytes in memory) for cubins of 100-300 KB, and a memory hit. Targets: <= 1 ms and <= 1 us.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#include "cache/artifact_store.hpp"
#include "cache/sha256.hpp"

namespace {

namespace fs = std::filesystem;
using moejit::Artifact;
using moejit::ArtifactSource;
using moejit::ArtifactStore;
using moejit::Knobs;
using moejit::LookupInfo;

// A kernel-like artifact: random cubin of `cubin_bytes`, PTX text of the same size, a short
// generated source and NVRTC log.
Artifact fake_artifact(const std::string& key, std::size_t cubin_bytes) {
  Artifact a;
  a.key_text = key;
  a.digest = moejit::sha256_hex(key);
  a.arch = "sm_90a";
  a.source = "// " + key + "\n#include \"moejit/wmma_gguf.cuh\"\ntemplate __global__ void k();\n";
  a.options = {"--gpu-architecture=sm_90a", "-std=c++17", "-default-device"};
  a.log = "ptxas info    : Used 128 registers, 49152 bytes smem, 0 bytes spill stores\n";
  std::mt19937_64 rng(cubin_bytes);
  a.cubin.resize(cubin_bytes);
  for (auto& b : a.cubin) b = static_cast<std::uint8_t>(rng());
  a.ptx.reserve(cubin_bytes);
  while (a.ptx.size() < cubin_bytes) a.ptx += "\tmma.sync.aligned.m16n8k16.row.col.f32.bf16;\n";
  a.kernels = {{"moejit::k", "_ZN6moejit1kEv", {128, 49152, 0, 0, 0, 0}}};
  a.compile_ms = 900.0;
  return a;
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "moejit-cache-bench-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Artifact must_not_compile() { throw std::logic_error("benchmark expected a cache hit"); }

void BM_DiskHitFreshStore(benchmark::State& state) {
  TempDir dir;
  Knobs knobs;
  knobs.cache_dir = dir.path();
  const Artifact a = fake_artifact("wmma_gguf:q4_k:bf16:sm_90a:64x64x32:w4:s3",
                                   static_cast<std::size_t>(state.range(0)));
  {
    ArtifactStore filler(knobs);
    filler.get_or_compile(a.digest, a.key_text, [&] { return a; });
  }
  for (auto _ : state) {
    ArtifactStore store(knobs);
    LookupInfo info;
    auto hit = store.get_or_compile(a.digest, a.key_text, must_not_compile, &info);
    benchmark::DoNotOptimize(hit->cubin.data());
    if (info.source != ArtifactSource::Disk) state.SkipWithError("not a disk hit");
  }
  state.SetBytesProcessed(state.iterations() * (a.cubin.size() + a.ptx.size()));
}
BENCHMARK(BM_DiskHitFreshStore)
    ->Arg(100 << 10)
    ->Arg(200 << 10)
    ->Arg(300 << 10)
    ->Unit(benchmark::kMicrosecond);

void BM_MemoryHit(benchmark::State& state) {
  TempDir dir;
  Knobs knobs;
  knobs.cache_dir = dir.path();
  const Artifact a = fake_artifact("wmma:f16:sm_90a:64x64x32:w4:s3", 200 << 10);
  ArtifactStore store(knobs);
  store.get_or_compile(a.digest, a.key_text, [&] { return a; });
  for (auto _ : state) {
    auto hit = store.get_or_compile(a.digest, a.key_text, must_not_compile);
    benchmark::DoNotOptimize(hit.get());
  }
}
BENCHMARK(BM_MemoryHit)->Unit(benchmark::kNanosecond);

void BM_MemoryHitWithInfo(benchmark::State& state) {
  TempDir dir;
  Knobs knobs;
  knobs.cache_dir = dir.path();
  const Artifact a = fake_artifact("wmma:bf16:sm_90a:64x64x32:w4:s3", 200 << 10);
  ArtifactStore store(knobs);
  store.get_or_compile(a.digest, a.key_text, [&] { return a; });
  LookupInfo info;
  for (auto _ : state) {
    auto hit = store.get_or_compile(a.digest, a.key_text, must_not_compile, &info);
    benchmark::DoNotOptimize(hit.get());
  }
}
BENCHMARK(BM_MemoryHitWithInfo)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
