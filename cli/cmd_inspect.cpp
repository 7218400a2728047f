// `moejit inspect SPEC`: everything about one kernel: the generated source, NVRTC options, PTX,
// SASS, resource usage, the NVRTC log, every part of its cache key and its cache entry.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cache/artifact_store.hpp"
#include "cache/entry_io.hpp"
#include "cli/cli_support.hpp"
#include "cli/commands.hpp"
#include "cli/sass.hpp"
#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "moejit/error.hpp"
#include "runtime/compiler.hpp"
#include "runtime/plan_artifact.hpp"

namespace moejit::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kParts[] = {"key", "path",   "options", "resources",
                                  "log", "source", "ptx",     "sass"};

CommandHelp inspect_help() {
  return {
      "inspect", "inspect SPEC [--arch ARCH] [--what PARTS] [--cache-dir DIR] [--json]",
      "Shows one kernel: every part of its cache key, its cache entry, the NVRTC options,\n"
      "registers, shared and local memory and spills of each __global__ function, the NVRTC\n"
      "log, the generated CUDA source, the PTX, and the SASS (when cuobjdump or nvdisasm is on\n"
      "PATH or in $CUDA_HOME/bin). The kernel comes from the cache, or is compiled and stored\n"
      "there like MoePlan::select would. Needs no GPU. The architecture is the spec's, else\n"
      "--arch, else GPU 0's, else sm_80; a missing tile is the spec syntax's default (the\n"
      "default tile for a 128-token qwen3-30b-a3b prefill). Filled-in parts are shown.",
      "Parts (--what, comma-separated, default all): key, path, options, resources, log,\n"
      "source, ptx, sass. One of source, ptx, sass or log alone is printed bare (no headers).\n\n"
      "Examples:\n"
      "  moejit inspect wmma_gguf:q4_k:bf16:sm_90\n"
      "  moejit inspect scalar_gguf:q6_k:sm_89 --what source,resources\n"
      "  moejit inspect wmma:f16:sm_80:64x64x64:w4:s4 --what sass > kernel.sass\n\n" +
          spec_syntax_help()};
}

po::options_description inspect_options() {
  po::options_description desc("options");
  desc.add_options()                                                                     //
      ("spec", po::value<std::string>()->value_name("SPEC"), "the kernel (positional)")  //
      ("arch", po::value<std::string>()->value_name("ARCH"),
       "architecture when the spec names none (default: GPU 0's, else sm_80)")  //
      ("what", po::value<std::string>()->value_name("PARTS")->default_value("all"),
       "parts to show: key,path,options,resources,log,source,ptx,sass or all")  //
      ("cache-dir", po::value<std::string>()->value_name("DIR"),
       "the writable cache (default: MOEJIT_CACHE_DIR, else ~/.cache/moejit)")  //
      ("json", "print the parts as one JSON object on stdout")                  //
      ("help,h", "show this help");
  return desc;
}

// Where the kernel's entry lives, and which cache holds it.
struct EntryPlace {
  std::string path;  // empty when it is not on disk
  std::string where;
};

EntryPlace entry_place(ArtifactStore& store, const Knobs& knobs, const LookupInfo& info,
                       const std::string& digest) {
  DiskCache::Options read_only;
  read_only.writable = false;
  if (info.source == ArtifactSource::ReadOnlyLayer && info.layer >= 0 &&
      static_cast<std::size_t>(info.layer) < knobs.readonly_dirs.size()) {
    const DiskCache layer(knobs.readonly_dirs[info.layer], read_only);
    return {layer.entry_dir(digest).string(),
            "read-only layer " + knobs.readonly_dirs[info.layer].string()};
  }
  const DiskCache disk(store.cache_dir(), read_only);
  if (disk.load(digest, false).status == EntryStatus::Ok) {
    const std::string how =
        info.source == ArtifactSource::Compiled ? "compiled now, stored in " : "found in ";
    return {disk.entry_dir(digest).string(),
            how + "the writable cache " + store.cache_dir().string()};
  }
  return {"", "not on disk: compiled now, but the cache '" + store.cache_dir().string() +
                  "' could not be written"};
}

void section(const char* title) { std::cout << "== " << title << " ==\n"; }

std::string with_newline(const std::string& text) {
  return text.empty() || text.back() == '\n' ? text : text + "\n";
}

}  // namespace

int run_inspect(const Args& args) {
  const CommandHelp help = inspect_help();
  const po::options_description desc = inspect_options();
  const auto parsed = parse_command_line(help, desc, args, "spec", 1);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("spec")) usage_error(help, desc, "missing the SPEC argument");

  std::set<std::string> parts;
  for (const std::string& p : split_list(vm["what"].as<std::string>())) {
    if (p == "all") {
      parts.insert(std::begin(kParts), std::end(kParts));
    } else if (std::find(std::begin(kParts), std::end(kParts), p) != std::end(kParts)) {
      parts.insert(p);
    } else {
      usage_error(help, desc,
                  "--what: unknown part '" + p +
                      "'; allowed: all key path options resources log source ptx sass");
    }
  }
  if (parts.empty()) usage_error(help, desc, "--what: no part given");

  const std::string text = vm["spec"].as<std::string>();
  const SpecText written = parse_spec_text_or_usage("inspect", text);
  SpecDefaults defaults;
  std::string arch_note;
  if (!written.arch) {
    if (vm.count("arch")) {
      const auto arch = parse_arch(vm["arch"].as<std::string>());
      if (!arch)
        usage_error(help, desc,
                    "--arch: '" + vm["arch"].as<std::string>() +
                        "' is not a supported architecture; allowed: sm_80 sm_86 sm_87 sm_89 "
                        "sm_90 sm_90a");
      defaults.arch = *arch;
      arch_note = "from --arch";
    } else {
      std::string why;
      if (auto arch = detect_device_arch(&why)) {
        defaults.arch = *arch;
        arch_note = "GPU 0's";
      } else {
        arch_note = "default; no --arch and no GPU";
      }
    }
  } else if (vm.count("arch") && parse_arch(vm["arch"].as<std::string>()) != written.arch) {
    usage_error(help, desc,
                "--arch " + vm["arch"].as<std::string>() + " contradicts the spec's " +
                    written.arch->to_string());
  }
  const KernelSpec spec = parse_kernel_spec_or_usage("inspect", text, defaults);
  std::vector<std::string> filled = filled_in_parts(written, spec);
  for (auto& f : filled)
    if (f.starts_with("arch ") && !arch_note.empty()) f += " (" + arch_note + ")";

  const Knobs knobs = command_knobs(vm);
  ArtifactStore store(knobs);
  const KeyParts key = kernel_key_parts(spec);
  LookupInfo info;
  const auto artifact = artifact_from_store(store, spec, &info);
  const EntryPlace place = entry_place(store, knobs, info, artifact->digest);
  const std::string cubin_hint =
      place.path.empty() ? std::string() : (fs::path(place.path) / kCubinFile).string();
  SassResult sass;
  if (parts.contains("sass")) sass = disassemble(artifact->cubin, cubin_hint);

  if (vm.count("json")) {
    nlohmann::json out = {{"command", "inspect"},
                          {"spec", text},
                          {"kernel", artifact->key_text},
                          {"filled_in", filled}};
    if (parts.contains("key")) {
      nlohmann::json k = nlohmann::json::object();
      for (const auto& [label, value] : key.describe()) k[label] = value;
      out["key"] = k;
    }
    if (parts.contains("path")) {
      out["path"] = place.path.empty() ? nlohmann::json(nullptr) : nlohmann::json(place.path);
      out["found_in"] = place.where;
    }
    if (parts.contains("options")) out["options"] = artifact->options;
    if (parts.contains("resources")) {
      nlohmann::json list = nlohmann::json::array();
      for (const KernelEntry& k : artifact->kernels)
        list.push_back({{"name_expression", k.name_expression},
                        {"lowered_name", k.lowered_name},
                        {"registers", k.resources.registers},
                        {"shared_static_bytes", k.resources.shared_static_bytes},
                        {"shared_dynamic_bytes", k.resources.shared_dynamic_bytes},
                        {"local_bytes", k.resources.local_bytes},
                        {"spill_store_bytes", k.resources.spill_store_bytes},
                        {"spill_load_bytes", k.resources.spill_load_bytes}});
      out["resources"] = list;
    }
    if (parts.contains("log")) out["log"] = artifact->log;
    if (parts.contains("source")) out["source"] = artifact->source;
    if (parts.contains("ptx")) out["ptx"] = artifact->ptx;
    if (parts.contains("sass")) {
      out["sass"] = sass.ok ? nlohmann::json(sass.text) : nlohmann::json(nullptr);
      if (sass.ok) out["sass_tool"] = sass.tool;
      if (!sass.ok) out["sass_missing"] = sass.message;
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  // One text part alone is printed bare, so that it can be piped or saved.
  if (parts.size() == 1) {
    const std::string& only = *parts.begin();
    if (only == "source" || only == "ptx" || only == "log") {
      std::cout << with_newline(only == "source" ? artifact->source
                                : only == "ptx"  ? artifact->ptx
                                                 : artifact->log);
      return 0;
    }
    if (only == "sass") {
      if (!sass.ok) throw Error(ErrorCode::Unsupported, sass.message);
      std::cout << with_newline(sass.text);
      return 0;
    }
  }

  std::cout << "kernel  " << artifact->key_text << "\n";
  if (!filled.empty()) {
    std::cout << "        (spec '" << text << "'; filled in: ";
    for (std::size_t i = 0; i < filled.size(); ++i) std::cout << (i ? ", " : "") << filled[i];
    std::cout << ")\n";
  }
  std::cout << "tile    " << tile_text(spec.tile) << "\n\n";
  if (parts.contains("key")) {
    section("cache key");
    std::size_t width = 0;
    for (const auto& [label, value] : key.describe()) width = std::max(width, label.size());
    for (const auto& [label, value] : key.describe())
      std::cout << label << std::string(width - label.size() + 2, ' ') << value << "\n";
    std::cout << "\n";
  }
  if (parts.contains("path")) {
    section("cache entry");
    std::cout << (place.path.empty() ? "(none)" : place.path) << "\n" << place.where << "\n\n";
  }
  if (parts.contains("options")) {
    section("NVRTC options");
    for (const auto& o : artifact->options) std::cout << o << "\n";
    std::cout << "(plus -I<CUDA include dir>, which is not part of the key)\n\n";
  }
  if (parts.contains("resources")) {
    section("resources");
    for (const KernelEntry& k : artifact->kernels) {
      const KernelResources& r = k.resources;
      std::cout << k.name_expression << "\n"
                << "  lowered name   " << k.lowered_name << "\n"
                << "  registers      " << r.registers << " per thread\n"
                << "  shared memory  " << r.shared_static_bytes << " B static, "
                << r.shared_dynamic_bytes << " B dynamic\n"
                << "  local memory   " << r.local_bytes << " B stack frame\n"
                << "  spills         " << r.spill_store_bytes << " B stores, " << r.spill_load_bytes
                << " B loads\n";
    }
    std::cout << "\n";
  }
  if (parts.contains("log")) {
    section("NVRTC log");
    std::cout << (artifact->log.empty() ? "(empty)\n" : with_newline(artifact->log)) << "\n";
  }
  if (parts.contains("source")) {
    section("CUDA source");
    std::cout << with_newline(artifact->source) << "\n";
  }
  if (parts.contains("ptx")) {
    section("PTX");
    std::cout << with_newline(artifact->ptx) << "\n";
  }
  if (parts.contains("sass")) {
    section("SASS");
    if (sass.ok)
      std::cout << "(" << sass.tool << ")\n" << with_newline(sass.text);
    else
      std::cout << sass.message << "\n";
  }
  return 0;
}

}  // namespace moejit::cli
