// JIT pipeline on the CPU: cold NVRTC compile time per variant (emit + NVRTC + artifact, no cache),
// the throughput of compiling every kernel of an architecture in parallel, and the cost of emitting
// a source and of computing a kernel's cache digest.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "codegen/spec_syntax.hpp"
#include "runtime/compiler.hpp"

namespace {

using namespace moejit;

const TemplateSource& templates() {
  static const TemplateSource t = TemplateSource::embedded();
  return t;
}

// One full compile per iteration; compile_ms is NVRTC's wall time per kernel, registers and
// cubin_kib describe the result. Run with repetitions and read the median.
void BM_ColdCompile(benchmark::State& state, const char* text) {
  const KernelSpec spec = parse_kernel_spec(text);
  CompileOptions opts;
  opts.templates = &templates();
  double compile_ms = 0;
  Artifact art;
  for (auto _ : state) {
    art = compile_kernel(spec, opts);
    compile_ms += art.compile_ms;
    benchmark::DoNotOptimize(art.cubin.data());
  }
  state.counters["compile_ms"] = benchmark::Counter(compile_ms, benchmark::Counter::kAvgIterations);
  state.counters["registers"] = art.kernels.at(0).resources.registers;
  state.counters["cubin_kib"] = static_cast<double>(art.cubin.size()) / 1024.0;
  state.SetLabel(art.key_text);
}

// Every variant x format x element of one architecture (32 kernels, default tiles) compiled on
// all hardware threads, as `moejit precompile` does; kernels_per_s is the throughput.
void BM_ParallelCompileAll(benchmark::State& state) {
  std::vector<KernelSpec> specs;
  for (GgufBlockFormat f : kWeightFormats) {
    const std::string fmt(format_name(f));
    specs.push_back(parse_kernel_spec("scalar_gguf:" + fmt + ":sm_90"));
    specs.push_back(parse_kernel_spec("wmma_gguf:" + fmt + ":f16:sm_90"));
    specs.push_back(parse_kernel_spec("wmma_gguf:" + fmt + ":bf16:sm_90"));
  }
  specs.push_back(parse_kernel_spec("wmma:f16:sm_90"));
  specs.push_back(parse_kernel_spec("wmma:bf16:sm_90"));
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (auto _ : state) {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        CompileOptions opts;
        opts.templates = &templates();
        for (std::size_t i = next++; i < specs.size(); i = next++)
          benchmark::DoNotOptimize(compile_kernel(specs[i], opts).cubin.data());
      });
    for (std::thread& th : pool) th.join();
  }
  state.counters["kernels_per_s"] = benchmark::Counter(
      static_cast<double>(specs.size() * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
}

void BM_EmitSource(benchmark::State& state) {
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q4_k:bf16:sm_90");
  for (auto _ : state) benchmark::DoNotOptimize(emit_source(spec).code.data());
}

void BM_KeyDigest(benchmark::State& state) {
  const KernelSpec spec = parse_kernel_spec("wmma_gguf:q4_k:bf16:sm_90");
  CompileOptions opts;
  opts.templates = &templates();
  for (auto _ : state) benchmark::DoNotOptimize(kernel_key_parts(spec, opts).digest().data());
}

// The first compile of a process also loads NVRTC's builtins; do it before timing.
void warm_up(const benchmark::State&) {
  static const bool done = [] {
    CompileOptions opts;
    opts.templates = &templates();
    compile_kernel(parse_kernel_spec("wmma:f16:sm_80"), opts);
    return true;
  }();
  (void)done;
}

#define MOEJIT_COMPILE_BENCH(name, text)                                                      \
  BENCHMARK_CAPTURE(BM_ColdCompile, name, text)                                               \
      ->Setup(warm_up)                                                                        \
      ->Iterations(1)                                                                         \
      ->Repetitions(7)                                                                        \
      ->ComputeStatistics(                                                                    \
          "min",                                                                              \
          [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }) \
      ->ReportAggregatesOnly(true)                                                            \
      ->UseRealTime()                                                                         \
      ->Unit(benchmark::kMillisecond)

MOEJIT_COMPILE_BENCH(scalar_gguf_q8_0, "scalar_gguf:q8_0:sm_90");
MOEJIT_COMPILE_BENCH(scalar_gguf_q4_k, "scalar_gguf:q4_k:sm_90");
MOEJIT_COMPILE_BENCH(wmma_f16, "wmma:f16:sm_90");
MOEJIT_COMPILE_BENCH(wmma_bf16, "wmma:bf16:sm_90");
MOEJIT_COMPILE_BENCH(wmma_gguf_q4_k_bf16, "wmma_gguf:q4_k:bf16:sm_90");
MOEJIT_COMPILE_BENCH(wmma_gguf_q6_k_f16, "wmma_gguf:q6_k:f16:sm_90");
MOEJIT_COMPILE_BENCH(wmma_gguf_q4_0_bf16_sm80, "wmma_gguf:q4_0:bf16:sm_80");
BENCHMARK(BM_ParallelCompileAll)
    ->Setup(warm_up)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_EmitSource)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KeyDigest)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
