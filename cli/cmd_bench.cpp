// `moejit bench SPEC`: times one kernel through MoePlan on a GPU with CUDA events (warm-up, many
// iterations, median) and reports microseconds, GB/s and TFLOP/s.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "cli/commands.hpp"
#include "cli/gpu_problem.hpp"
#include "cli/gpu_timing.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli {
namespace {

CommandHelp bench_help() {
  return {
      "bench",
      "bench SPEC [--tokens T] [--experts E] [--top-k K] [--n N] [--k K]\n"
      "                    [--weights|--no-weights] [--prefill|--decode] [--seed S]\n"
      "                    [--warmup N] [--iters N] [--no-rotate] [--json]",
      "Times the kernel on GPU 0 through MoePlan::run on fresh random data: --warmup runs,\n"
      "then --iters runs back to back in batches of 16, a pair of CUDA events around each\n"
      "batch (how llama.cpp and vLLM time their kernels), and --iters runs each between its\n"
      "own pair of events (\"alone\": the event records add device time to a short run).\n"
      "Every batch is enqueued before the GPU starts it, so the host's launch overhead is\n"
      "hidden. Reports the median (and minimum and mean) back-to-back time per run and the\n"
      "median alone in microseconds, the bandwidth in GB/s (10^9 bytes per second) of the\n"
      "weights of the experts the routing touches, the activations and the outputs, and\n"
      "TFLOP/s (2 * P * N * K flops for P routed pairs; every kernel of a run counts, helper\n"
      "kernels included). Unless --no-rotate, when what one run reads (the activations and the\n"
      "touched experts' weights) would stay in L2, the activations and weights are copied\n"
      "several times and the runs rotate through the copies (reads of four L2 sizes in all,\n"
      "as half the free device memory allows), so the figure is a cold-L2 one. Exit status\n"
      "1 when there is no GPU.",
      problem_options_help() +
          "\nExamples:\n"
          "  moejit bench wmma_gguf:q4_k:bf16 --tokens 1 --experts 128 --top-k 8 --n 768 "
          "--k 2048\n"
          "  moejit bench scalar_gguf:q4_k --tokens 8 --experts 8 --top-k 2 --n 14336 "
          "--k 4096 --json\n\n" +
          spec_syntax_help()};
}

po::options_description bench_options() {
  po::options_description desc("options");
  desc.add_options()("spec", po::value<std::string>()->value_name("SPEC"),
                     "the kernel (positional)");
  add_problem_options(desc);
  desc.add_options()                                                                           //
      ("warmup", po::value<int>()->value_name("N")->default_value(10), "untimed runs first")   //
      ("iters", po::value<int>()->value_name("N")->default_value(200), "timed runs each way")  //
      ("no-rotate", "run on one copy of the operands (warm L2)")                               //
      ("json", "print the result as JSON on stdout")                                           //
      ("help,h", "show this help");
  return desc;
}

}  // namespace

int run_bench(const Args& args) {
  const CommandHelp help = bench_help();
  const po::options_description desc = bench_options();
  const auto parsed = parse_command_line(help, desc, args, "spec", 1);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("spec")) usage_error(help, desc, "missing the SPEC argument");
  const SpecText spec = parse_spec_text_or_usage("bench", vm["spec"].as<std::string>());
  const ProblemOptions options = read_problem_options(vm, spec, help, desc);
  const int warmup = vm["warmup"].as<int>();
  const int iters = vm["iters"].as<int>();
  if (warmup < 0) usage_error(help, desc, "--warmup must be at least 0");
  if (iters < 1) usage_error(help, desc, "--iters must be at least 1");
  require_device("bench");

  const PlanRequest request = plan_request(spec, options);
  const MoeDescriptor& d = request.descriptor;
  const MoePlan plan = MoePlan::select(d, request.preference);
  const HostProblem host = make_host_problem(d, options);
  const int ordinal = driver::active_device();
  const int copies =
      rotation_copies(host.read_bytes(), host.activation_bytes() + host.weight_bytes(), ordinal,
                      vm.count("no-rotate") == 0);
  const DeviceProblem device = upload_problem(host, plan, copies);
  const Timing timing = time_plan(plan, device, warmup, iters);
  const double med = timing.back_to_back.median;
  const double best = timing.back_to_back.min;
  const double mean = timing.back_to_back.mean;
  const double alone = timing.alone_median_us;

  const double pairs = static_cast<double>(host.shape.num_pairs());
  const double bytes =
      static_cast<double>(host.read_bytes()) + static_cast<double>(device.output_bytes);
  const double flops = 2.0 * pairs * options.n * options.k;
  const double gbps = bytes / (med * 1e-6) / 1e9;
  const double tflops = flops / (med * 1e-6) / 1e12;
  const std::string device_name = driver::device_name(ordinal);

  if (vm.count("json")) {
    nlohmann::json out = run_json("bench", vm["spec"].as<std::string>(), plan, ordinal, options);
    out["warmup"] = warmup;
    out["iters"] = iters;
    out["operand_copies"] = copies;
    out["median_us"] = med;
    out["min_us"] = best;
    out["mean_us"] = mean;
    out["alone_median_us"] = alone;
    out["experts_touched"] = host.touched_experts;
    out["bytes"] = bytes;
    out["flops"] = flops;
    out["gb_per_s"] = gbps;
    out["tflop_per_s"] = tflops;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("kernel     %s\n", plan.sku().c_str());
  std::printf("device     %s (%s)\n", device_name.c_str(),
              driver::device_arch(ordinal).to_string().c_str());
  std::printf("problem    %s\n", describe_problem(options).c_str());
  std::printf("runs       %d warm-up, %d timed, %d operand cop%s\n", warmup, iters, copies,
              copies == 1 ? "y" : "ies");
  std::printf("time       %.2f us median back to back (min %.2f, mean %.2f); %.2f us alone\n", med,
              best, mean, alone);
  std::printf("bandwidth  %.1f GB/s (%s of routed weights, activations and outputs)\n", gbps,
              human_bytes(static_cast<std::uint64_t>(bytes)).c_str());
  std::printf("compute    %.2f TFLOP/s\n", tflops);
  return 0;
}

}  // namespace moejit::cli
