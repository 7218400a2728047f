// MoePlan: select validates the descriptor, builds the kernel spec and gets its artifact; run
// checks the arguments and launches the prepared steps on the caller's stream.
#include <algorithm>
#include <string>
#include <utility>

#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "moejit/error.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_artifact.hpp"
#include "runtime/plan_memo.hpp"
#include "runtime/plan_state.hpp"

namespace moejit {
namespace {

struct Target {
  GpuArch arch;
  int device = 0;            // ordinal run() uses when no context is current
  bool from_device = false;  // arch read from that device (not PlanPreference::arch)
};

Target choose_target(const PlanPreference& pref) {
  Target t;
  if (pref.arch) {
    const auto arch = parse_arch(*pref.arch);
    if (!arch)
      throw Error(ErrorCode::Unsupported,
                  "PlanPreference::arch \"" + *pref.arch +
                      "\" is not a supported target (use sm_80, sm_86, sm_87, sm_89, sm_90 or "
                      "sm_90a)");
    t.arch = *arch;
    t.device = pref.device.value_or(0);
    return t;
  }
  // The device whose architecture is used: the preference's, else the current context's, else 0.
  if (pref.device) {
    t.device = *pref.device;
  } else {
    driver::api();  // throws NoDevice with the advice to pass an arch
    t.device = driver::current_context() != nullptr ? driver::current_device() : 0;
  }
  t.arch = driver::device_arch(t.device);
  t.from_device = true;
  if (std::find(std::begin(kSupportedSm), std::end(kSupportedSm), t.arch.sm) ==
      std::end(kSupportedSm))
    throw Error(ErrorCode::Unsupported,
                "device " + std::to_string(t.device) + " (" + driver::device_name(t.device) +
                    ") is " + t.arch.to_string() +
                    ", which moejit does not generate code for (sm_80, sm_86, sm_87, sm_89, "
                    "sm_90)");
  return t;
}

PreparedCall prepare_call(const MoePlan::State& s, const ProblemDims& dims) {
  const std::vector<KernelStep> steps = launch_plan(s.spec, dims);
  plan_checks::validate_launches(steps, s.spec.arch, s.artifact->key_text);
  PreparedCall call;
  call.steps = prepare_steps(*s.module, steps);
  call.layout = workspace_layout(s.spec, dims);
  return call;
}

MoeParams base_params(const MoeDescriptor& d, const plan_checks::OperandSizes& sizes) {
  MoeParams p{};
  p.weight_row_stride = static_cast<long long>(sizes.weight_row_bytes);
  p.weight_expert_stride = static_cast<long long>(sizes.weight_row_bytes) * d.d_expert;
  p.num_experts = static_cast<int>(d.num_experts);
  p.top_k = static_cast<int>(d.top_k);
  p.num_pairs = static_cast<int>(sizes.num_pairs);
  p.input_rows = static_cast<int>(sizes.num_pairs);
  p.size_m = static_cast<int>(sizes.num_pairs);
  p.size_n = static_cast<int>(d.d_expert);
  p.size_k = static_cast<int>(d.d_model);
  return p;
}

// Loads the kernel on the current context now, when that context's device can run it, so that
// the first run() does not load (and can be captured).
void load_eagerly(const Target& t, KernelModule& module) {
  CUcontext context = nullptr;
  if (t.from_device) {
    context = driver::current_or_primary_context(t.device);
    if (driver::current_device() != t.device) return;
  } else {
    if (driver::device_count() == 0) return;
    context = driver::current_context();
    if (context == nullptr || !can_run(driver::device_arch(driver::current_device()), t.arch))
      return;
  }
  module.in_context(context);
}

}  // namespace

MoePlan::MoePlan(std::shared_ptr<const State> state) : state_(std::move(state)) {}

MoePlan MoePlan::select(const MoeDescriptor& descriptor, const PlanPreference& preference) {
  const plan_checks::OperandSizes sizes = plan_checks::validate_descriptor(descriptor);
  const Target target = choose_target(preference);
  // A problem selected before in this process: the same plan (its kernel loaded on the current
  // context when that context's device can run it).
  const std::string memo_key =
      PlanMemo::key(descriptor, preference, target.arch, target.device, target.from_device);
  if (std::shared_ptr<const State> known = PlanMemo::instance().find(memo_key)) {
    load_eagerly(target, *known->module);
    return MoePlan(std::move(known));
  }

  auto state = std::make_shared<State>();
  State& s = *state;
  s.descriptor = descriptor;
  s.sizes = sizes;
  s.device = target.device;
  plan_checks::validate_arch(descriptor, target.arch);
  s.spec = plan_checks::make_spec(descriptor, target.arch, preference.specialize_sizes,
                                  preference.tile_table);
  plan_checks::validate_spec(s.spec, descriptor.tile.has_value());
  const ProblemDims weighted = plan_checks::problem_dims(descriptor, s.sizes.num_pairs, true);
  const ProblemDims unweighted = plan_checks::problem_dims(descriptor, s.sizes.num_pairs, false);
  // Launch geometry is checked before compiling, so an impossible problem costs no compile.
  const std::string key = kernel_key_text(s.spec);
  plan_checks::validate_launches(launch_plan(s.spec, weighted), target.arch, key);
  plan_checks::validate_launches(launch_plan(s.spec, unweighted), target.arch, key);
  s.artifact = plan_artifact_for(s.spec, preference.stream);
  s.module = kernel_module_for(s.artifact, s.spec.arch);
  s.weighted = prepare_call(s, weighted);
  s.unweighted = prepare_call(s, unweighted);
  s.workspace_bytes = std::max(s.weighted.layout.total, s.unweighted.layout.total);
  s.base = base_params(descriptor, s.sizes);
  load_eagerly(target, *s.module);
  PlanMemo::instance().insert(memo_key, state);
  return MoePlan(std::move(state));
}

std::size_t MoePlan::workspace_size() const { return state_->workspace_bytes; }

std::string MoePlan::sku() const { return state_->artifact->key_text; }

std::string MoePlan::arch() const { return state_->spec.arch.to_string(); }

PrecisionGuarantee MoePlan::precision_guarantee() const {
  const MoeDescriptor& d = state_->descriptor;
  return ::moejit::precision_guarantee(d.variant, d.element, static_cast<int>(d.d_model));
}

const MoeDescriptor& MoePlan::descriptor() const { return state_->descriptor; }

void MoePlan::run(Stream stream, void* workspace, std::size_t workspace_bytes,
                  const MoeArgs& args) const {
  const State& s = *state_;
  const MoeDescriptor& d = s.descriptor;
  const bool weighted = args.topk_weights != nullptr;
  const std::int64_t pairs = s.sizes.num_pairs;
  const bool empty = args.size_m == 0 || pairs == 0;
  // The common call (size_m = P) was prepared by select; another entry count is planned here
  // and kept until a call with yet another count replaces it.
  static const PreparedCall kNothing;
  std::shared_ptr<const OtherCall> other;
  const PreparedCall* call = &kNothing;
  if (!empty && args.size_m == static_cast<std::size_t>(pairs)) {
    call = weighted ? &s.weighted : &s.unweighted;
  } else if (!empty && args.size_m <= static_cast<std::size_t>(plan_checks::kMaxEntries)) {
    other = s.last_other.load(std::memory_order_acquire);
    if (!other || other->size_m != args.size_m || other->weighted != weighted) {
      auto fresh = std::make_shared<OtherCall>();
      fresh->size_m = args.size_m;
      fresh->weighted = weighted;
      fresh->call = prepare_call(
          s, plan_checks::problem_dims(d, static_cast<std::int64_t>(args.size_m), weighted));
      other = fresh;
      s.last_other.store(other, std::memory_order_release);
    }
    call = &other->call;
  }
  plan_checks::validate_args(d, s.sizes, call->layout.total, workspace, workspace_bytes, args);
  CUcontext context = driver::current_context();
  if (context == nullptr) context = driver::current_or_primary_context(s.device);
  if (empty) return;
  const LoadedModule& loaded = s.module->in_context(context);
  MoeParams p = s.base;
  p.activations = args.activations;
  p.weights = args.weights;
  p.sorted_ids = args.sorted_ids;
  p.expert_ids = args.expert_ids;
  p.topk_weights = args.topk_weights;
  p.output = args.output;
  p.size_m = static_cast<int>(args.size_m);
  p.input_rows = static_cast<int>(weighted ? pairs : d.num_tokens);
  auto* base = static_cast<unsigned char*>(workspace);
  p.expert_offsets = call->layout.offsets_bytes > 0
                         ? reinterpret_cast<int*>(base + call->layout.offsets_offset)
                         : nullptr;
  p.act_q8 = call->layout.q8_bytes > 0 ? base + call->layout.q8_offset : nullptr;
  launch_steps(*s.module, loaded, call->steps, static_cast<CUstream>(stream), p);
}

}  // namespace moejit
