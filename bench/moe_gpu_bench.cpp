// moejit_gpu_bench: times every moejit kernel (each variant and weight format) on the MoE shapes
// of shared/docs/performance.md with CUDA events, against the physical floor and the peers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/gpu/operands.hpp"
#include "bench/gpu/options.hpp"
#include "bench/gpu/plans.hpp"
#include "bench/gpu/report.hpp"
#include "moejit/precision.hpp"
#include "runtime/call_timer.hpp"
#include "runtime/device_memory.hpp"
#include "runtime/driver.hpp"

namespace moejit::gpubench {
namespace {

// Weight copies for rotation stay within this much device memory per weight format.
constexpr double kWeightCopyBudget = 16.0 * (1ull << 30);
constexpr int kSelectCalls = 200;

MoeDescriptor descriptor_of(const Shape& s, const KernelConfig& k, int tokens) {
  MoeDescriptor d;
  d.num_tokens = tokens;
  d.num_experts = s.experts;
  d.top_k = s.top_k;
  d.d_model = s.k;
  d.d_expert = s.n;
  d.variant = k.variant;
  d.block_format = k.format;
  d.element = k.element;
  d.is_prefill = tokens >= 32;  // the prefill tile family once experts get many rows
  return d;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

// Runs set 0 once on a NaN-filled output and checks every element against the double reference
// and the plan's precision guarantee. Returns CheckResult::summary() ("PASS: ..." or "FAIL: ...").
std::string check_point(const PointResult& p, const MoePlan& plan, PointOperands& ops,
                        const WeightCopies& weights, const DeviceStream& stream) {
  DeviceSet& set = ops.set(0);
  const bool wmma = p.kernel.variant == MoeVariant::Wmma;
  set.output.fill_nan(wmma ? p.kernel.element : ElementKind::F32);
  device_synchronize();  // the fill runs on the legacy stream, which `stream` does not wait for
  plan.run(stream.get(), ops.workspace(), ops.workspace_bytes(), ops.args(0, weights));
  stream.synchronize();
  const ref::MoeProblem problem =
      reference_problem(p.shape, p.kernel, p.tokens, set, weights.host());
  const ref::MoeDouble reference = ref::moe_double(problem);
  const PrecisionGuarantee guarantee = plan.precision_guarantee();
  const CheckResult c =
      wmma
          ? check_output(guarantee, reference,
                         std::span<const std::uint16_t>(set.output.to_host<std::uint16_t>()))
          : check_output(guarantee, reference, std::span<const float>(set.output.to_host<float>()));
  return c.summary();
}

// Times the points of one shape and weight format (they share the weight copies).
void time_weight_group(const Options& o, std::size_t l2, const std::vector<std::size_t>& group,
                       const std::vector<SelectedPlan>& plans, std::vector<PointResult>& points,
                       const DeviceStream& stream, CallTimer& timer) {
  const PointResult& first = points[group.front()];
  std::vector<int> sets(group.size());
  int copies = 1;
  for (std::size_t g = 0; g < group.size(); ++g) {
    const PointResult& p = points[group[g]];
    const double bytes =
        call_bytes(p.shape, p.kernel, p.tokens, expected_touched(p.shape, p.tokens));
    sets[g] = rotation_sets(bytes, l2);
    copies = std::max(copies, sets[g]);
  }
  const double full = static_cast<double>(first.shape.experts) * first.shape.n *
                      static_cast<double>(weight_row_bytes(first.shape, first.kernel));
  copies = std::clamp(static_cast<int>(kWeightCopyBudget / full), 1, copies);
  std::fprintf(stderr, "timing %s %s: %zu points, %d weight cop%s of %.0f MB\n",
               std::string(first.shape.name).c_str(), first.kernel.weight_name().c_str(),
               group.size(), copies, copies == 1 ? "y" : "ies", full / 1e6);
  std::optional<WeightCopies> made;
  try {
    made.emplace(host_weights(first.shape, first.kernel), copies);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weights failed: %s\n", e.what());
    for (std::size_t i : group) points[i].error = std::string("weights: ") + e.what();
    return;
  }
  const WeightCopies& weights = *made;

  for (std::size_t g = 0; g < group.size(); ++g) {
    PointResult& p = points[group[g]];
    const SelectedPlan& selected = plans[group[g]];
    if (!selected.plan) continue;
    const MoePlan& plan = *selected.plan;
    try {
      PointOperands ops(p.shape, p.kernel, p.tokens, sets[g], plan.workspace_size());
      p.sets = ops.sets();
      p.touched = ops.touched();
      p.bytes = call_bytes(p.shape, p.kernel, p.tokens, p.touched);
      p.floor_us = 1e6 * std::max(p.bytes / kPeakBytesPerSecond, p.flops / kPeakFlopsPerSecond);
      if (o.check && p.tokens == o.tokens.front()) {
        p.check = check_point(p, plan, ops, weights, stream);
        std::fprintf(stderr, "check %s %s T=%d: %s\n", std::string(p.shape.name).c_str(),
                     p.kernel.label().c_str(), p.tokens, p.check.c_str());
      }
      std::vector<MoeArgs> args;
      for (int i = 0; i < ops.sets(); ++i) args.push_back(ops.args(i, weights));
      const CallTiming t = timer.measure(o.warmup, o.iters, [&](int i) {
        plan.run(stream.get(), ops.workspace(), ops.workspace_bytes(),
                 args[static_cast<std::size_t>(i) % args.size()]);
      });
      const SampleStats back_to_back = sample_stats(t.back_to_back_us);
      p.median_us = back_to_back.median;
      p.min_us = back_to_back.min;
      p.mean_us = back_to_back.mean;
      p.alone_us = median(t.alone_us);
      p.enqueue_us = median(t.enqueue_us);
      if (ops.sets() > 1) {
        // The same calls on one set: its weights stay in L2, as they did in the peers' runs.
        p.warm_us = median(timer.measure_back_to_back(o.warmup, o.iters, [&](int) {
          plan.run(stream.get(), ops.workspace(), ops.workspace_bytes(), args.front());
        }));
      }
    } catch (const std::exception& e) {
      p.error = e.what();
      std::fprintf(stderr, "%s %s T=%d failed: %s\n", std::string(p.shape.name).c_str(),
                   p.kernel.label().c_str(), p.tokens, e.what());
    }
  }
}

// Host cost of select and run for one kernel of each variant (q4_k / bf16 when present), at the
// first point timed.
std::vector<HostOverhead> host_overheads(const std::vector<PointResult>& points,
                                         const std::vector<SelectedPlan>& plans) {
  std::vector<HostOverhead> out;
  for (MoeVariant v : {MoeVariant::ScalarGguf, MoeVariant::WmmaGguf, MoeVariant::Wmma}) {
    std::size_t pick = points.size();
    for (std::size_t i = 0; i < points.size() && pick == points.size(); ++i) {
      const std::string w = points[i].kernel.weight_name();
      if (points[i].kernel.variant == v && points[i].timed() && (w == "q4_k" || w == "bf16"))
        pick = i;
    }
    for (std::size_t i = 0; i < points.size() && pick == points.size(); ++i)
      if (points[i].kernel.variant == v && points[i].timed()) pick = i;
    if (pick == points.size()) continue;
    const PointResult& p = points[pick];
    HostOverhead h;
    h.sku = p.sku;
    h.point = std::string(p.shape.name) + " T=" + std::to_string(p.tokens);
    h.select_us = select_cached_us(plans[pick].plan->descriptor(), kSelectCalls);
    h.run_us = p.enqueue_us;
    out.push_back(std::move(h));
  }
  return out;
}

int run(const Options& o) {
  driver::current_or_primary_context(0);
  Report report;
  report.device = driver::device_name(driver::current_device());
  report.date = utc_now();
  report.command = o.command_line;
  report.l2_bytes = static_cast<std::size_t>(
      driver::device_attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, driver::current_device()));
  report.iters = o.iters;
  report.warmup = o.warmup;
  std::fprintf(stderr, "moejit_gpu_bench on %s (L2 %zu MiB)\n", report.device.c_str(),
               report.l2_bytes >> 20);

  // Points in table order: shape, kernel, token count.
  std::vector<PointResult>& points = report.points;
  std::vector<MoeDescriptor> descriptors;
  for (const Shape& s : o.shapes)
    for (const KernelConfig& k : o.kernels)
      for (int t : o.tokens) {
        PointResult p;
        p.shape = s;
        p.kernel = k;
        p.tokens = t;
        p.flops = call_flops(s, t);
        p.peer = best_peer(s, k.format, k.element, t);
        points.push_back(std::move(p));
        descriptors.push_back(descriptor_of(s, k, t));
      }

  const auto select_begin = std::chrono::steady_clock::now();
  const std::vector<SelectedPlan> plans = select_all(descriptors);
  report.select_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - select_begin).count();
  std::set<std::string> skus;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (plans[i].plan) {
      points[i].sku = plans[i].plan->sku();
      skus.insert(points[i].sku);
    } else {
      points[i].error = "select: " + plans[i].error;
    }
  }
  report.distinct_kernels = skus.size();

  const DeviceStream stream;
  CallTimer timer(stream.get(), o.iters);
  // Groups of points sharing one shape and weight format, in table order.
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < points.size(); ++i) {
    auto same = [&](const std::vector<std::size_t>& g) {
      const PointResult& q = points[g.front()];
      return q.shape.name == points[i].shape.name &&
             q.kernel.weight_name() == points[i].kernel.weight_name();
    };
    const auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end())
      groups.push_back({i});
    else
      it->push_back(i);
  }
  for (const auto& g : groups)
    time_weight_group(o, report.l2_bytes, g, plans, points, stream, timer);
  report.overheads = host_overheads(points, plans);

  if (o.markdown)
    write_markdown(std::cout, report);
  else
    write_text(std::cout, report);
  std::cout.flush();
  if (!o.json_path.empty()) write_json(o.json_path, report);
  if (!o.summary_path.empty()) {
    std::ofstream f(o.summary_path);
    write_summary(f, report);
    if (!f) throw std::runtime_error("cannot write " + o.summary_path);
  }
  const bool failed = std::any_of(points.begin(), points.end(), [](const PointResult& p) {
    return !p.error.empty() || p.check.rfind("FAIL", 0) == 0;
  });
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace moejit::gpubench

int main(int argc, char** argv) {
  using namespace moejit::gpubench;
  const ParseOutcome parsed = parse_options(argc, argv);
  if (!parsed.options) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.text;
    return parsed.exit_code;
  }
  if (!moejit::driver::available()) {
    std::cerr << "moejit_gpu_bench: no CUDA driver or GPU on this machine; it times kernels on a "
                 "GPU: run it on the GPU machine (scripts/device-check.sh runs it there)\n";
    return 1;
  }
  try {
    return run(*parsed.options);
  } catch (const std::exception& e) {
    std::cerr << "moejit_gpu_bench: " << e.what() << '\n';
    return 1;
  }
}
