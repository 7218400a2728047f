// The plan runtime on a device: run captured into a CUDA graph and replayed, chained calls (the
// second reading the first's output while its helper may launch early; on a stream and in a
// graph), compiling refused during capture (a cache hit allowed), concurrent selects sharing one
// kernel, a plan for another architecture refused at run, a plan compiled for a named
// architecture, and the CallTimer that `moejit bench` and `tune` time runs with.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "codegen/arch_limits.hpp"
#include "moejit/error.hpp"
#include "runtime/call_timer.hpp"
#include "runtime/driver.hpp"
#include "tests/gpu/gpu_case.hpp"

namespace moejit::gputest {
namespace {

Case small_case(MoeVariant variant, std::optional<GgufBlockFormat> format, ElementKind element) {
  Case c;
  c.variant = variant;
  c.format = format;
  c.element = element;
  c.tokens = 24;
  c.experts = 8;
  c.top_k = 2;
  c.n = 96;
  c.k = 512;
  return c;
}

bool mentions(const Error& e, const std::string& part) {
  return std::string(e.what()).find(part) != std::string::npos;
}

// A case's plan on the current device, its operands on the host and the device, and a stream.
struct PlannedCase {
  explicit PlannedCase(const Case& from)
      : c(from),
        plan(MoePlan::select(c.descriptor())),
        ops(make_operands(c)),
        device(upload_operands(c, ops, plan.workspace_size())) {}
  void run() const {
    plan.run(stream.get(), device.workspace.get(), device.workspace.bytes(), device.args);
  }
  CheckResult check() const { return check_device_output(c, ops, plan, device); }

  Case c;
  MoePlan plan;
  HostOperands ops;
  DeviceOperands device;
  DeviceStream stream;
};

TEST(PlanRuntime, RunIsCapturedIntoAGraphAndReplayed) {
  MOEJIT_REQUIRE_GPU();
  PlannedCase p(small_case(MoeVariant::WmmaGguf, GgufBlockFormat::Q4_K, ElementKind::Bf16));
  CapturedGraph graph;
  graph.begin(p.stream.get());
  p.run();
  graph.end(p.stream.get());
  for (int replay = 0; replay < 2; ++replay) {
    p.device.poison();
    graph.launch(p.stream.get());
    p.stream.synchronize();
    const CheckResult r = p.check();
    EXPECT_TRUE(r.pass) << p.plan.sku() << " replay " << replay << ": " << r.summary();
  }
}

// Two calls on one stream, the second reading the first's output as its activations. On sm_90+
// a call's helper kernel is launched programmatically and may be scheduled while the previous
// call's main kernel runs; it must wait for that kernel before it reads. Both outputs are NaN
// before every round, so a read that came too early shows as NaN in the second call's output.
// in_graph: both calls are captured into one CUDA graph once and the graph is replayed.
void expect_chained_calls_read_the_first_output(Case first, Case second, bool in_graph = false) {
  first.tokens = 24;
  first.top_k = 2;
  first.n = 512;
  first.k = 4096;  // a first call of several microseconds
  second.tokens = 24;
  second.top_k = 2;
  second.k = first.n;  // activation row p of the second = output row p of the first
  second.weighted = first.weighted = true;
  PlannedCase a(first);
  PlannedCase b(second);
  ASSERT_EQ(a.device.output.bytes(), b.device.activations.bytes());
  b.device.args.activations = a.device.output.get();
  const auto enqueue_both = [&] {
    a.plan.run(a.stream.get(), a.device.workspace.get(), a.device.workspace.bytes(), a.device.args);
    b.plan.run(a.stream.get(), b.device.workspace.get(), b.device.workspace.bytes(), b.device.args);
  };
  CapturedGraph graph;
  if (in_graph) {
    graph.begin(a.stream.get());
    enqueue_both();
    graph.end(a.stream.get());
  }
  for (int round = 0; round < 8; ++round) {
    a.device.poison();
    b.device.poison();
    device_synchronize();
    if (in_graph)
      graph.launch(a.stream.get());
    else
      enqueue_both();
    a.stream.synchronize();
    if (round == 0) {
      const CheckResult r = a.check();
      ASSERT_TRUE(r.pass) << a.plan.sku() << ": " << r.summary();
    }
    if (first.variant == MoeVariant::ScalarGguf)
      b.ops.activations_f32 = a.device.output.to_host<float>();
    else
      b.ops.activations_bits = a.device.output.to_host<std::uint16_t>();
    const CheckResult r = b.check();
    ASSERT_TRUE(r.pass) << b.plan.sku() << " after " << a.plan.sku() << ", round " << round << ": "
                        << r.summary();
  }
}

TEST(PlanRuntime, ChainedScalarGgufCallsReadTheFirstOutput) {
  MOEJIT_REQUIRE_GPU();
  expect_chained_calls_read_the_first_output(
      small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_K, ElementKind::F32),
      small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32));
}

TEST(PlanRuntime, ChainedCallsCapturedIntoAGraphReadTheFirstOutput) {
  MOEJIT_REQUIRE_GPU();
  expect_chained_calls_read_the_first_output(
      small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q6_K, ElementKind::F32),
      small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q4_0, ElementKind::F32), true);
  expect_chained_calls_read_the_first_output(
      small_case(MoeVariant::Wmma, std::nullopt, ElementKind::F16),
      small_case(MoeVariant::Wmma, std::nullopt, ElementKind::F16), true);
}

TEST(PlanRuntime, ChainedWmmaCallsReadTheFirstOutput) {
  MOEJIT_REQUIRE_GPU();
  expect_chained_calls_read_the_first_output(
      small_case(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16),
      small_case(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16));
}

TEST(PlanRuntime, CallTimerTimesEveryCallAloneAndBackToBack) {
  MOEJIT_REQUIRE_GPU();
  const PlannedCase p(small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32));
  CallTimer timer(p.stream.get(), 40);
  std::vector<int> indices;
  const int iters = CallTimer::kBackToBackBatch + 3;  // one full batch and one partial
  const CallTiming t = timer.measure(2, iters, [&](int i) {
    indices.push_back(i);
    p.run();
  });
  // Warm-up, alone and back-to-back calls, numbered on through all three.
  ASSERT_EQ(indices.size(), static_cast<std::size_t>(2 + 2 * iters));
  for (std::size_t i = 0; i < indices.size(); ++i) EXPECT_EQ(indices[i], static_cast<int>(i));
  ASSERT_EQ(t.alone_us.size(), static_cast<std::size_t>(iters));
  ASSERT_EQ(t.enqueue_us.size(), static_cast<std::size_t>(iters));
  ASSERT_EQ(t.back_to_back_us.size(), 2u);
  // Every interval holds at least one kernel: positive, and far below a millisecond.
  for (double us : t.alone_us) EXPECT_TRUE(us > 0 && us < 1000) << us;
  for (double us : t.back_to_back_us) EXPECT_TRUE(us > 0 && us < 1000) << us;
  const SampleStats s = sample_stats(t.back_to_back_us);
  EXPECT_LE(s.min, s.median);
  EXPECT_LE(s.min, s.mean);
  // The last call's output is the plan's result.
  const CheckResult r = p.check();
  EXPECT_TRUE(r.pass) << r.summary();
}

TEST(PlanRuntime, CallTimerTimesBackToBackAlone) {
  MOEJIT_REQUIRE_GPU();
  const PlannedCase p(small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q8_0, ElementKind::F32));
  CallTimer timer(p.stream.get(), 40);
  std::vector<int> indices;
  const int iters = CallTimer::kBackToBackBatch + 3;
  const std::vector<double> us = timer.measure_back_to_back(2, iters, [&](int i) {
    indices.push_back(i);
    p.run();
  });
  // Warm-up and back-to-back calls only, numbered on.
  ASSERT_EQ(indices.size(), static_cast<std::size_t>(2 + iters));
  for (std::size_t i = 0; i < indices.size(); ++i) EXPECT_EQ(indices[i], static_cast<int>(i));
  ASSERT_EQ(us.size(), 2u);
  for (double u : us) EXPECT_TRUE(u > 0 && u < 1000) << u;
  const CheckResult r = p.check();
  EXPECT_TRUE(r.pass) << r.summary();
}

TEST(PlanRuntime, SelectRefusesToCompileDuringCaptureButServesCacheHits) {
  MOEJIT_REQUIRE_GPU();
  const Case c = small_case(MoeVariant::Wmma, std::nullopt, ElementKind::F16);
  const MoePlan warm = MoePlan::select(c.descriptor());
  // A descriptor no cache holds: d_expert compiled in, chosen from the clock and the pid.
  MoeDescriptor cold = c.descriptor();
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  cold.d_expert = 8 * (1000 + static_cast<std::int64_t>((now + getpid() * 7919LL) % 50000));
  PlanPreference pref;
  pref.specialize_sizes = true;

  const HostOperands ops = make_operands(c);
  DeviceOperands device = upload_operands(c, ops, warm.workspace_size());
  DeviceStream stream;
  pref.stream = stream.get();
  CapturedGraph graph;
  graph.begin(stream.get());
  try {
    MoePlan::select(cold, pref);
    ADD_FAILURE() << "select compiled during stream capture";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
    EXPECT_TRUE(mentions(e, "captured")) << e.what();
    EXPECT_TRUE(mentions(e, "precompile")) << e.what();
  }
  PlanPreference hit_pref;
  hit_pref.stream = stream.get();
  const MoePlan hit = MoePlan::select(c.descriptor(), hit_pref);
  EXPECT_EQ(hit.sku(), warm.sku());
  hit.run(stream.get(), device.workspace.get(), device.workspace.bytes(), device.args);
  graph.end(stream.get());
  device.poison();
  graph.launch(stream.get());
  stream.synchronize();
  const CheckResult r = check_device_output(c, ops, hit, device);
  EXPECT_TRUE(r.pass) << hit.sku() << ": " << r.summary();
}

TEST(PlanRuntime, ConcurrentSelectsShareOneKernelAndRun) {
  MOEJIT_REQUIRE_GPU();
  const Case c = small_case(MoeVariant::ScalarGguf, GgufBlockFormat::Q5_K, ElementKind::F32);
  std::vector<std::string> skus(8);
  std::vector<std::string> errors(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      try {
        skus[i] = MoePlan::select(c.descriptor()).sku();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(errors[i], "");
    EXPECT_EQ(skus[i], skus[0]);
  }
  const RunOutcome r = run_case(c);
  EXPECT_TRUE(r.check.pass) << r.sku << ": " << r.check.summary();
}

TEST(PlanRuntime, PlanForAnotherArchitectureIsRefusedAtRun) {
  MOEJIT_REQUIRE_GPU();
  const GpuArch device_arch = driver::device_arch(0);
  PlanPreference pref;
  pref.arch = device_arch.sm >= 90 ? "sm_80" : "sm_90";
  const Case c = small_case(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16);
  const MoePlan plan = MoePlan::select(c.descriptor(), pref);
  const HostOperands ops = make_operands(c);
  DeviceOperands device = upload_operands(c, ops, plan.workspace_size());
  try {
    plan.run(nullptr, device.workspace.get(), device.workspace.bytes(), device.args);
    ADD_FAILURE() << "a " << *pref.arch << " kernel ran on a " << device_arch.to_string()
                  << " device";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
    EXPECT_TRUE(mentions(e, *pref.arch)) << e.what();
    EXPECT_TRUE(mentions(e, device_arch.to_string())) << e.what();
  }
}

TEST(PlanRuntime, PlanCompiledForTheNamedDeviceArchitectureRuns) {
  MOEJIT_REQUIRE_GPU();
  const GpuArch device_arch = driver::device_arch(0);
  PlanPreference pref;
  pref.arch = device_arch.to_string();
  const Case c = small_case(MoeVariant::WmmaGguf, GgufBlockFormat::Q8_0, ElementKind::F16);
  const MoePlan plan = MoePlan::select(c.descriptor(), pref);
  // Tensor-core kernels for sm_90 are generated for sm_90a, which the same device runs.
  EXPECT_EQ(plan.arch(), kernel_target(c.variant, device_arch).to_string());
  const HostOperands ops = make_operands(c);
  DeviceOperands device = upload_operands(c, ops, plan.workspace_size());
  device.poison();
  plan.run(nullptr, device.workspace.get(), device.workspace.bytes(), device.args);
  device_synchronize();
  const CheckResult r = check_device_output(c, ops, plan, device);
  EXPECT_TRUE(r.pass) << plan.sku() << ": " << r.summary();
}

TEST(PlanRuntime, RunOnACachedPlanCostsMicrosecondsOfHostTime) {
  MOEJIT_REQUIRE_GPU();
  const PlannedCase p(small_case(MoeVariant::Wmma, std::nullopt, ElementKind::Bf16));
  const auto run = [&] { p.run(); };
  run();  // loads nothing new: select already loaded the module
  p.stream.synchronize();
  std::vector<double> per_run_us;
  for (int batch = 0; batch < 20; ++batch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) run();
    const auto t1 = std::chrono::steady_clock::now();
    p.stream.synchronize();
    per_run_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / 50);
  }
  std::sort(per_run_us.begin(), per_run_us.end());
  const double median = per_run_us[per_run_us.size() / 2];
  RecordProperty("run_host_us", std::to_string(median));
  std::printf("MoePlan::run host time: %.2f us per call (median of 20 batches, 2 launches)\n",
              median);
  EXPECT_LT(median, 30.0) << "run() should cost a few microseconds of host time";
}

}  // namespace
}  // namespace moejit::gputest
