// Building the job list of `moejit precompile` from flags, a manifest or a preset.
#include "cli/precompile_jobs.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <sstream>

#include "cli/cli_support.hpp"
#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"
#include "runtime/plan_checks.hpp"

namespace moejit::cli {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(std::remove_if(item.begin(), item.end(),
                              [](unsigned char c) { return std::isspace(c) != 0; }),
               item.end());
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

template <class T>
void add_unique(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

std::string supported_arch_names() {
  std::string out;
  for (int sm : kSupportedSm) out += "sm_" + std::to_string(sm) + " ";
  return out + "sm_90a";
}

bool is_gguf(MoeVariant v) { return v != MoeVariant::Wmma; }

bool element_suits(MoeVariant v, ElementKind e) {
  return v == MoeVariant::ScalarGguf ? e == ElementKind::F32 : e != ElementKind::F32;
}

// Calls fn(variant, format, element) for every kernel family of `families`, in their order: each
// variant with each of the formats (GGUF variants) or with none (wmma), and each element type the
// variant takes.
template <class Fn>
void for_each_family(const KernelFamilies& families, Fn&& fn) {
  for (MoeVariant v : families.variants) {
    std::vector<std::optional<GgufBlockFormat>> formats;
    if (is_gguf(v))
      formats.assign(families.formats.begin(), families.formats.end());
    else
      formats.push_back(std::nullopt);
    for (const auto& f : formats)
      for (ElementKind e : families.elements)
        if (element_suits(v, e)) fn(v, f, e);
  }
}

// The spec text of one combination: variant[:format]:element[:arch][:extra].
std::string spec_text(MoeVariant v, std::optional<GgufBlockFormat> f, ElementKind e,
                      const std::optional<GpuArch>& arch, const std::string& extra) {
  std::string text(variant_name(v));
  if (f) text.append(":").append(format_name(*f));
  text.append(":").append(element_name(e));
  if (arch) text.append(":").append(arch->to_string());
  if (!extra.empty()) text.append(":").append(extra);
  return text;
}

// A job from spec text that passed parse_spec_text: the full spec, or the reason it is invalid.
PrecompileJob job_from_text(const std::string& text, const GpuArch& arch, std::string origin) {
  PrecompileJob job;
  job.origin = std::move(origin);
  SpecDefaults defaults;
  defaults.arch = arch;
  try {
    job.spec = parse_kernel_spec(text, defaults);
    job.key_text = kernel_key_text(job.spec);
  } catch (const Error& e) {
    job.spec.arch = arch;
    job.key_text = text;
    job.error = error_text(e);
  }
  return job;
}

}  // namespace

namespace {

// One comma-separated list flag: "all" expands to every value, anything else goes through parse;
// duplicates are dropped. `allowed` starts with a space and lists the names besides "all".
template <class T, class Parse>
std::vector<T> parse_list(const std::string& text, const std::string& flag, const std::string& what,
                          const std::string& noun, const std::vector<T>& every, Parse parse,
                          const std::string& allowed) {
  std::vector<T> out;
  for (const std::string& item : split(text)) {
    if (item == "all") {
      for (const T& v : every) add_unique(out, v);
      continue;
    }
    const std::optional<T> v = parse(item);
    if (!v) throw BadValue(flag + ": '" + item + "' is not " + what + "; allowed: all" + allowed);
    add_unique(out, *v);
  }
  if (out.empty()) throw BadValue(flag + ": no " + noun + " given");
  return out;
}

}  // namespace

std::vector<GpuArch> parse_arch_list(const std::string& text) {
  std::vector<GpuArch> every;
  for (int sm : kSupportedSm) every.push_back(GpuArch{sm, false});
  std::string allowed(" ");
  allowed += supported_arch_names();
  return parse_list(text, "--arch", "a supported architecture", "architecture", every, parse_arch,
                    allowed);
}

std::vector<MoeVariant> parse_variant_list(const std::string& text) {
  return parse_list(
      text, "--variant", "a variant", "variant",
      std::vector<MoeVariant>{MoeVariant::ScalarGguf, MoeVariant::Wmma, MoeVariant::WmmaGguf},
      parse_variant, std::string(" scalar_gguf wmma wmma_gguf"));
}

std::vector<GgufBlockFormat> parse_format_list(const std::string& text) {
  std::string names;
  for (GgufBlockFormat f : kWeightFormats) names.append(" ").append(format_name(f));
  const auto weight_format = [](const std::string& item) -> std::optional<GgufBlockFormat> {
    const auto f = parse_format(item);
    if (!f || !block_layout(*f).weight_format) return std::nullopt;
    return f;
  };
  return parse_list(text, "--format", "a weight format", "format",
                    std::vector<GgufBlockFormat>(kWeightFormats.begin(), kWeightFormats.end()),
                    weight_format, names);
}

std::vector<ElementKind> parse_element_list(const std::string& text) {
  return parse_list(text, "--dtype", "an element type", "element type",
                    std::vector<ElementKind>{ElementKind::F32, ElementKind::F16, ElementKind::Bf16},
                    parse_element, std::string(" f32 f16 bf16"));
}

std::vector<PrecompileJob> matrix_jobs(const KernelFamilies& families,
                                       const std::vector<std::string>& tiles,
                                       const std::vector<GpuArch>& archs) {
  std::vector<PrecompileJob> jobs;
  for (const GpuArch& arch : archs) {
    for_each_family(families, [&](MoeVariant v, std::optional<GgufBlockFormat> f, ElementKind e) {
      for (const std::string& tile : tiles) {
        const std::string text =
            spec_text(v, f, e, kernel_target(v, arch), tile == "default" ? "" : tile);
        try {
          parse_spec_text(text);
        } catch (const Error& err) {
          throw BadValue("--tile '" + tile + "': " + error_text(err));
        }
        jobs.push_back(job_from_text(text, arch, "flags"));
      }
    });
  }
  return jobs;
}

std::string manifest_help() {
  return "Manifest (--manifest FILE): a JSON array, or an object {\"kernels\": [...]}, whose\n"
         "entries are spec strings or objects:\n"
         "  [\n"
         "    \"wmma_gguf:q4_k:bf16:sm_90:64x64x64:w8:s3\",\n"
         "    \"scalar_gguf:q6_k\",\n"
         "    {\"variant\": \"wmma\", \"dtype\": \"bf16\", \"arch\": \"sm_90\",\n"
         "     \"tile\": \"128x128x64\", \"warps\": 8, \"stages\": 2}\n"
         "  ]\n"
         "Object keys: variant (required), format, dtype (or element), arch, tile (BMxBNxBK),\n"
         "warps, stages, reg_weights (true: the rw tile option), n, k; each takes one value. An "
         "entry without an architecture is\n"
         "compiled for every --arch (or the GPU's); parts left out are filled in as in the spec\n"
         "syntax (element f16, or f32 for scalar_gguf; the default tile).\n";
}

namespace {

// The spec text of a manifest object entry.
std::string object_spec_text(const nlohmann::json& entry, const std::string& where) {
  static const std::set<std::string> kKeys{"variant", "format", "dtype",      "element",
                                           "arch",    "tile",   "warps",      "stages",
                                           "n",       "k",      "reg_weights"};
  for (const auto& [key, value] : entry.items()) {
    if (!kKeys.contains(key))
      throw Error(ErrorCode::InvalidProblem,
                  where + ": unknown key '" + key +
                      "'; allowed: variant, format, dtype, element, arch, tile, warps, stages, "
                      "reg_weights, n, k");
  }
  auto text_of = [&](const char* key) -> std::optional<std::string> {
    if (!entry.contains(key)) return std::nullopt;
    const auto& v = entry.at(key);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    throw Error(ErrorCode::InvalidProblem,
                where + ": '" + key + "' must be a string or an integer, not " + v.dump());
  };
  const auto variant = text_of("variant");
  if (!variant)
    throw Error(ErrorCode::InvalidProblem,
                where + ": an object entry needs \"variant\" (scalar_gguf, wmma or wmma_gguf)");
  if (entry.contains("dtype") && entry.contains("element"))
    throw Error(ErrorCode::InvalidProblem, where + ": give \"dtype\" or \"element\", not both");
  std::string text = *variant;
  for (const char* key : {"format", "dtype", "element", "arch", "tile"})
    if (auto v = text_of(key)) text += ":" + *v;
  if (auto v = text_of("warps")) text += ":w" + *v;
  if (auto v = text_of("stages")) text += ":s" + *v;
  if (entry.contains("reg_weights")) {
    const auto& v = entry.at("reg_weights");
    if (!v.is_boolean())
      throw Error(ErrorCode::InvalidProblem,
                  where + ": 'reg_weights' must be true or false, not " + v.dump());
    if (v.get<bool>()) text += ":rw";
  }
  if (auto v = text_of("n")) text += ":n=" + *v;
  if (auto v = text_of("k")) text += ":k=" + *v;
  return text;
}

}  // namespace

std::vector<PrecompileJob> manifest_jobs(const std::filesystem::path& file,
                                         const std::function<std::vector<GpuArch>()>& archs) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::InvalidProblem, "cannot read manifest '" + file.string() + "'");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::InvalidProblem,
                "manifest '" + file.string() + "' is not valid JSON: " + e.what());
  }
  if (doc.is_object()) {
    if (!doc.contains("kernels") || doc.size() != 1)
      throw Error(ErrorCode::InvalidProblem, "manifest '" + file.string() +
                                                 "': an object manifest holds exactly one key, "
                                                 "\"kernels\", with the list of entries");
    doc = doc.at("kernels");
  }
  if (!doc.is_array())
    throw Error(ErrorCode::InvalidProblem,
                "manifest '" + file.string() +
                    "' must be a JSON array of entries (or {\"kernels\": [...]}); see "
                    "`moejit precompile --help`");
  std::vector<PrecompileJob> jobs;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const std::string where = "manifest '" + file.string() + "' entry " + std::to_string(i + 1);
    const nlohmann::json& entry = doc[i];
    std::string text;
    if (entry.is_string())
      text = entry.get<std::string>();
    else if (entry.is_object())
      text = object_spec_text(entry, where);
    else
      throw Error(ErrorCode::InvalidProblem,
                  where + ": an entry is a spec string or an object, not " + entry.dump());
    SpecText parts;
    try {
      parts = parse_spec_text(text);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidProblem, where + ": " + error_text(e));
    }
    if (parts.arch) {
      jobs.push_back(job_from_text(text, *parts.arch, "manifest entry " + std::to_string(i + 1)));
    } else {
      for (const GpuArch& arch : archs())
        jobs.push_back(job_from_text(text + ":" + kernel_target(parts.variant, arch).to_string(),
                                     arch, "manifest entry " + std::to_string(i + 1)));
    }
  }
  return jobs;
}

namespace {

const std::vector<ModelShape>& known_models() {
  static const std::vector<ModelShape> kModels{
      {"qwen3-30b-a3b", 128, 8, 768, 2048},
      {"mixtral-8x7b", 8, 2, 14336, 4096},
  };
  return kModels;
}

// Token counts of the preset: decode steps (batched), then prefill chunks.
constexpr std::int64_t kDecodeTokens[] = {1, 2, 4, 8, 16, 32, 64};
constexpr std::int64_t kPrefillTokens[] = {128, 256, 512, 1024, 2048, 4096, 8192};

struct Projection {
  const char* name;
  std::int64_t n;
  std::int64_t k;
};

}  // namespace

std::vector<ModelShape> preset_models(const std::string& names) {
  std::vector<ModelShape> out;
  for (const std::string& item : split(names)) {
    if (item == "default") {
      for (const ModelShape& m : known_models()) out.push_back(m);
      continue;
    }
    auto it = std::find_if(known_models().begin(), known_models().end(),
                           [&](const ModelShape& m) { return m.name == item; });
    if (it == known_models().end())
      throw BadValue("--preset: unknown preset '" + item +
                     "'; allowed: default qwen3-30b-a3b mixtral-8x7b");
    out.push_back(*it);
  }
  if (out.empty()) throw BadValue("--preset: no preset given");
  return out;
}

ModelShape parse_model_shape(const std::string& text) {
  std::vector<std::int64_t> v;
  for (const std::string& item : split(text)) {
    try {
      std::size_t used = 0;
      const long long x = std::stoll(item, &used);
      if (used != item.size() || x <= 0) throw std::invalid_argument(item);
      v.push_back(x);
    } catch (const std::exception&) {
      v.clear();
      break;
    }
  }
  if (v.size() != 4)
    throw BadValue("--shape '" + text +
                   "': give four positive integers E,TOPK,N,K (experts, experts per token, the "
                   "expert FFN width, the model width), e.g. 128,8,768,2048");
  if (v[1] > v[0])
    throw BadValue("--shape '" + text + "': TOPK " + std::to_string(v[1]) +
                   " exceeds the number of experts E " + std::to_string(v[0]) +
                   " (each token picks TOPK distinct experts)");
  return ModelShape{"shape " + text, v[0], v[1], v[2], v[3]};
}

std::string preset_help() {
  std::ostringstream out;
  out << "Presets (--preset NAME, a comma-separated list; --shape E,TOPK,N,K adds a model):\n";
  for (const ModelShape& m : known_models())
    out << "  " << m.name << ": E " << m.experts << ", top_k " << m.top_k << ", N " << m.d_ff
        << ", K " << m.d_model << "\n";
  out << "  default: all of the above\n"
      << "For each model: gate and up (N x K), fused gate_up (2N x K) and down (K x N)\n"
      << "projections at decode token counts";
  for (auto t : kDecodeTokens) out << " " << t;
  out << "\nand prefill token counts";
  for (auto t : kPrefillTokens) out << " " << t;
  out << ", for every --variant/--format/--dtype (default\n"
      << "all): the kernels MoePlan::select picks for those problems (default tile, sizes not\n"
      << "compiled in), so that select finds them in the cache.\n";
  return out.str();
}

std::vector<PrecompileJob> preset_jobs(const std::vector<ModelShape>& models,
                                       const KernelFamilies& families,
                                       const std::vector<GpuArch>& archs,
                                       PresetRejections* rejected) {
  std::vector<PrecompileJob> jobs;
  PresetRejections skipped;
  for (const GpuArch& arch : archs) {
    for (const ModelShape& m : models) {
      const Projection projections[] = {{"gate/up", m.d_ff, m.d_model},
                                        {"gate_up", 2 * m.d_ff, m.d_model},
                                        {"down", m.d_model, m.d_ff}};
      for (const Projection& proj : projections) {
        for_each_family(
            families, [&](MoeVariant v, std::optional<GgufBlockFormat> f, ElementKind e) {
              for (bool prefill : {false, true}) {
                const auto& counts = prefill ? std::span<const std::int64_t>(kPrefillTokens)
                                             : std::span<const std::int64_t>(kDecodeTokens);
                for (std::int64_t tokens : counts) {
                  MoeDescriptor d;
                  d.num_tokens = tokens;
                  d.num_experts = m.experts;
                  d.top_k = m.top_k;
                  d.d_model = proj.k;
                  d.d_expert = proj.n;
                  d.variant = v;
                  d.block_format = f;
                  d.element = e;
                  d.is_prefill = prefill;
                  const std::string origin = "preset " + m.name + " " + proj.name +
                                             " T=" + std::to_string(tokens) +
                                             (prefill ? " prefill" : " decode");
                  // What MoePlan::select does before it looks the kernel up.
                  bool choosing_tile = false;
                  try {
                    const auto sizes = plan_checks::validate_descriptor(d);
                    plan_checks::validate_arch(d, arch);
                    PrecompileJob job;
                    // Errors here come from MOEJIT_TILE_TABLE: the user's to fix, not a
                    // problem select would reject.
                    choosing_tile = true;
                    job.spec = plan_checks::make_spec(d, arch, /*specialize_sizes=*/false);
                    choosing_tile = false;
                    plan_checks::validate_spec(job.spec, /*tile_requested=*/false);
                    job.key_text = kernel_key_text(job.spec);
                    for (bool weighted : {true, false})
                      plan_checks::validate_launches(
                          launch_plan(job.spec,
                                      plan_checks::problem_dims(d, sizes.num_pairs, weighted)),
                          arch, job.key_text);
                    job.origin = origin;
                    jobs.push_back(std::move(job));
                  } catch (const Error& e) {
                    if (choosing_tile) throw;
                    if (skipped.count++ == 0)
                      skipped.first = origin + " on " + arch.to_string() + ": " + e.what();
                  }
                }
              }
            });
      }
    }
  }
  if (rejected) *rejected = skipped;
  return jobs;
}

std::size_t merge_duplicates(std::vector<PrecompileJob>& jobs) {
  std::set<std::string> seen;
  const std::size_t before = jobs.size();
  std::erase_if(jobs, [&](const PrecompileJob& j) { return !seen.insert(j.key_text).second; });
  return before - jobs.size();
}

}  // namespace moejit::cli
