// `moejit verify SPEC`: runs one kernel through MoePlan on a GPU on fresh random data and checks
// every output element against the CPU double-precision reference and the precision guarantee.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "cli/commands.hpp"
#include "cli/gpu_problem.hpp"
#include "moejit/precision.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli {
namespace {

CommandHelp verify_help() {
  return {"verify",
          "verify SPEC [--tokens T] [--experts E] [--top-k K] [--n N] [--k K]\n"
          "                     [--weights|--no-weights] [--prefill|--decode] [--seed S] [--json]",
          "Runs the kernel on GPU 0 through MoePlan (select, then run) on fresh random data,\n"
          "with the output filled with NaN first, and checks every element against the CPU\n"
          "reference evaluated in double precision, within the plan's precision guarantee.\n"
          "Exit status 0 when every element is within its bound, 1 otherwise or when there is\n"
          "no GPU.",
          problem_options_help() +
              "\nExamples:\n"
              "  moejit verify wmma_gguf:q4_k:bf16 --tokens 64 --experts 128 --top-k 8 --n 768 "
              "--k 2048\n"
              "  moejit verify scalar_gguf:q6_k --tokens 1 --no-weights\n"
              "  moejit verify wmma:f16:64x64x64:w4:s4 --prefill --tokens 512\n\n" +
              spec_syntax_help()};
}

po::options_description verify_options() {
  po::options_description desc("options");
  desc.add_options()("spec", po::value<std::string>()->value_name("SPEC"),
                     "the kernel (positional)");
  add_problem_options(desc);
  desc.add_options()                                  //
      ("json", "print the result as JSON on stdout")  //
      ("help,h", "show this help");
  return desc;
}

}  // namespace

int run_verify(const Args& args) {
  const CommandHelp help = verify_help();
  const po::options_description desc = verify_options();
  const auto parsed = parse_command_line(help, desc, args, "spec", 1);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("spec")) usage_error(help, desc, "missing the SPEC argument");
  const SpecText spec = parse_spec_text_or_usage("verify", vm["spec"].as<std::string>());
  const ProblemOptions options = read_problem_options(vm, spec, help, desc);
  require_device("verify");

  const PlanRequest request = plan_request(spec, options);
  const MoeDescriptor& d = request.descriptor;
  const MoePlan plan = MoePlan::select(d, request.preference);
  const HostProblem host = make_host_problem(d, options);
  DeviceProblem device = upload_problem(host, plan);
  const CheckResult check = run_and_check(plan, d, host, device);
  const PrecisionGuarantee guarantee = plan.precision_guarantee();
  const int ordinal = driver::active_device();
  const std::string device_name = driver::device_name(ordinal);

  if (vm.count("json")) {
    nlohmann::json out = run_json("verify", vm["spec"].as<std::string>(), plan, ordinal, options);
    out["pass"] = check.pass;
    out["max_error_ratio"] = check.max_error_ratio;
    out["worst_row"] = check.worst_row;
    out["worst_col"] = check.worst_col;
    out["worst_value"] = check.worst_value;
    out["worst_reference"] = check.worst_reference;
    out["worst_bound"] = check.worst_bound;
    out["relative_l2_error"] = check.relative_l2_error;
    out["checked"] = check.checked;
    out["non_finite"] = check.non_finite;
    out["out_of_bound"] = check.out_of_bound;
    out["guarantee"] = guarantee.description;
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "kernel     " << plan.sku() << "\n"
              << "device     " << device_name << " (" << driver::device_arch(ordinal).to_string()
              << ")\n"
              << "problem    " << describe_problem(options) << "\n"
              << "result     " << check.summary() << "\n"
              << "guarantee  " << guarantee.description << "\n";
  }
  return check.pass ? 0 : 1;
}

}  // namespace moejit::cli
