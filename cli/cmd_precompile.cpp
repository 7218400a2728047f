// `moejit precompile`: compiles a set of kernels into the cache ahead of time, in parallel, with
// no GPU needed (from flags, a JSON manifest or a preset of model shapes).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cache/artifact_store.hpp"
#include "cli/cli_support.hpp"
#include "cli/commands.hpp"
#include "cli/precompile_jobs.hpp"
#include "cli/progress.hpp"
#include "moejit/error.hpp"
#include "runtime/plan_artifact.hpp"

namespace moejit::cli {
namespace {

struct JobResult {
  JobStatus status = JobStatus::Failed;
  std::string digest;
  std::string source;  // where a cached kernel was found
  double seconds = 0;
  std::string error;
};

CommandHelp precompile_help() {
  return {
      "precompile",
      "precompile [--arch LIST] [--variant LIST] [--format LIST] [--dtype LIST] [--tile LIST]\n"
      "                         [--manifest FILE] [--preset NAMES] [--shape E,TOPK,N,K]\n"
      "                         [--cache-dir DIR] [-j N] [--dry-run] [--json]",
      "Compiles kernels into the cache ahead of time, so that MoePlan::select finds them instead\n"
      "of compiling while serving. Needs no GPU: give --arch, or it is read from GPU 0.\n"
      "For sm_90 the tensor-core variants (wmma, wmma_gguf) are compiled for sm_90a, the\n"
      "target MoePlan::select picks on that GPU.\n"
      "The kernels come from the flag matrix (every --arch x --variant x --format x --dtype x\n"
      "--tile; a format applies to scalar_gguf and wmma_gguf, f32 to scalar_gguf, f16 and bf16\n"
      "to wmma and wmma_gguf), from --manifest, or from --preset / --shape (then --variant,\n"
      "--format and --dtype select the families). Lists are comma-separated; 'all' takes every\n"
      "value. With --cache-dir the kernels go to that directory (read-only layers and\n"
      "MOEJIT_CACHE_MAX_BYTES are ignored, so it ends up holding every kernel), ready to be\n"
      "shipped and mounted as a read-only layer with MOEJIT_CACHE_READONLY_DIRS.\n"
      "Progress goes to stderr (a bar on a terminal, a line per kernel otherwise), the summary\n"
      "to stdout; the exit status is 1 when any kernel failed.",
      manifest_help() + "\n" + preset_help() + "\n" +
          "Examples:\n"
          "  moejit precompile --arch sm_90 --variant wmma_gguf --format q4_k,q6_k --dtype bf16\n"
          "  moejit precompile --arch sm_90,sm_80 --preset default --cache-dir /opt/moejit-cache\n"
          "  moejit precompile --arch sm_90 --manifest kernels.json -j 8\n"
          "  moejit precompile --arch sm_90 --shape 64,6,1408,2048 --variant wmma_gguf\n\n" +
          spec_syntax_help()};
}

po::options_description precompile_options() {
  po::options_description desc("options");
  desc.add_options()  //
      ("arch", po::value<std::string>()->value_name("LIST"),
       "target architectures: sm_80 sm_86 sm_87 sm_89 sm_90 sm_90a, or all (default: GPU 0's)")  //
      ("variant", po::value<std::string>()->value_name("LIST")->default_value("all"),
       "scalar_gguf, wmma, wmma_gguf, or all")  //
      ("format", po::value<std::string>()->value_name("LIST")->default_value("all"),
       "weight formats of the GGUF variants: q4_0 ... q6_k, or all")  //
      ("dtype", po::value<std::string>()->value_name("LIST")->default_value("all"),
       "element types: f32, f16, bf16, or all")  //
      ("tile", po::value<std::string>()->value_name("LIST"),
       "tiles for the flag matrix: BMxBNxBK with optional :wW:sS (e.g. 64x64x64:w8:s3), or "
       "default (the spec syntax's default tile; the default)")  //
      ("manifest", po::value<std::string>()->value_name("FILE"),
       "a JSON manifest of kernels (format below)")  //
      ("preset", po::value<std::string>()->value_name("NAMES"),
       "the kernels select picks for model shapes: default, qwen3-30b-a3b, mixtral-8x7b")  //
      ("shape", po::value<std::vector<std::string>>()->value_name("E,TOPK,N,K")->composing(),
       "like --preset, for a model of E experts, TOPK per token, FFN width N, model width K "
       "(repeatable)")  //
      ("cache-dir", po::value<std::string>()->value_name("DIR"),
       "the cache directory to fill (default: MOEJIT_CACHE_DIR, else ~/.cache/moejit)")  //
      ("jobs,j", po::value<unsigned>()->value_name("N"),
       "parallel compiles (default: every core)")                 //
      ("dry-run", "list the kernels and exit without compiling")  //
      ("json", "print the summary as JSON on stdout")             //
      ("help,h", "show this help");
  return desc;
}

// The architectures to compile for: --arch, else GPU 0's. Throws UsageError when neither.
std::vector<GpuArch> resolve_archs(const po::variables_map& vm, const CommandHelp& help,
                                   const po::options_description& desc) {
  if (vm.count("arch")) {
    try {
      return parse_arch_list(vm["arch"].as<std::string>());
    } catch (const BadValue& e) {
      usage_error(help, desc, e.what());
    }
  }
  std::string why;
  if (auto arch = detect_device_arch(&why)) return {*arch};
  usage_error(help, desc,
              "no --arch given and no GPU to read the architecture from (" + why +
                  "); pass --arch, e.g. --arch sm_90 (a list such as sm_80,sm_90, or all)");
}

JobResult run_job(ArtifactStore& store, const PrecompileJob& job) {
  JobResult r;
  const auto start = std::chrono::steady_clock::now();
  if (job.error) {
    r.error = *job.error;
    return r;
  }
  try {
    LookupInfo info;
    const auto artifact = artifact_from_store(store, job.spec, &info);
    r.digest = artifact->digest;
    if (info.source != ArtifactSource::Compiled) {
      r.status = JobStatus::Cached;
      r.source = std::string(artifact_source_name(info.source));
    } else if (info.published) {
      r.status = JobStatus::Compiled;
    } else {
      // Not published by this call: another process may have published it meanwhile.
      DiskCache::Options read_only;
      read_only.writable = false;
      const DiskCache disk(store.cache_dir(), read_only);
      if (disk.load(artifact->digest, false).status == EntryStatus::Ok) {
        r.status = JobStatus::Compiled;
      } else {
        r.error = "compiled, but the entry could not be written to '" + store.cache_dir().string() +
                  "' (see the warning above)";
      }
    }
  } catch (const std::exception& e) {
    r.status = JobStatus::Failed;
    r.error = e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::vector<JobResult> run_jobs(ArtifactStore& store, const std::vector<PrecompileJob>& jobs,
                                unsigned threads, ProgressReport& progress) {
  std::vector<JobResult> results(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      results[i] = run_job(store, jobs[i]);
      progress.finished(results[i].status, jobs[i].key_text, results[i].seconds, results[i].error);
    }
  };
  std::vector<std::thread> pool;
  const unsigned count = std::max(1u, std::min<unsigned>(threads, jobs.size()));
  for (unsigned t = 1; t < count; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  progress.close();
  return results;
}

std::string arch_summary(const std::vector<PrecompileJob>& jobs) {
  std::vector<std::string> archs;
  for (const PrecompileJob& j : jobs) {
    const std::string a = j.spec.arch.to_string();
    if (std::find(archs.begin(), archs.end(), a) == archs.end()) archs.push_back(a);
  }
  std::string out;
  for (const auto& a : archs) out += (out.empty() ? "" : ", ") + a;
  return out;
}

void print_dry_run(const std::vector<PrecompileJob>& jobs, bool json) {
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& j : jobs) {
      nlohmann::json item = {{"key", j.key_text}, {"origin", j.origin}};
      if (j.error) item["error"] = *j.error;
      list.push_back(item);
    }
    std::cout
        << nlohmann::json{{"command", "precompile"}, {"dry_run", true}, {"kernels", list}}.dump(2)
        << "\n";
    return;
  }
  for (const auto& j : jobs) {
    std::cout << j.key_text << "  (" << j.origin << ")";
    if (j.error) std::cout << "  invalid: " << *j.error;
    std::cout << "\n";
  }
  std::cout << jobs.size() << (jobs.size() == 1 ? " kernel\n" : " kernels\n");
}

}  // namespace

int run_precompile(const Args& args) {
  const CommandHelp help = precompile_help();
  const po::options_description desc = precompile_options();
  const auto parsed = parse_command_line(help, desc, args);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;

  const bool from_manifest = vm.count("manifest") > 0;
  const bool from_preset = vm.count("preset") > 0 || vm.count("shape") > 0;
  if (from_manifest && !from_preset) {
    for (const char* flag : {"variant", "format", "dtype"})
      if (!vm[flag].defaulted())
        usage_error(help, desc,
                    std::string("--") + flag +
                        " selects kernels of the flag matrix or a preset, not of a manifest "
                        "(write the manifest's entries instead)");
  }
  if (vm.count("tile") && (from_manifest || from_preset))
    usage_error(help, desc,
                "--tile belongs to the flag matrix; a preset uses the tiles select picks and a "
                "manifest names its own");

  std::optional<std::vector<GpuArch>> archs;
  auto get_archs = [&]() -> std::vector<GpuArch> {
    if (!archs) archs = resolve_archs(vm, help, desc);
    return *archs;
  };

  std::vector<PrecompileJob> jobs;
  PresetRejections rejected;
  try {
    const KernelFamilies families{parse_variant_list(vm["variant"].as<std::string>()),
                                  parse_format_list(vm["format"].as<std::string>()),
                                  parse_element_list(vm["dtype"].as<std::string>())};
    if (from_manifest) {
      auto part = manifest_jobs(vm["manifest"].as<std::string>(), get_archs);
      jobs.insert(jobs.end(), part.begin(), part.end());
    }
    if (from_preset) {
      std::vector<ModelShape> models;
      if (vm.count("preset")) models = preset_models(vm["preset"].as<std::string>());
      if (vm.count("shape"))
        for (const auto& s : vm["shape"].as<std::vector<std::string>>())
          models.push_back(parse_model_shape(s));
      auto part = preset_jobs(models, families, get_archs(), &rejected);
      jobs.insert(jobs.end(), part.begin(), part.end());
    }
    if (!from_manifest && !from_preset) {
      const std::vector<std::string> tiles = vm.count("tile")
                                                 ? split_list(vm["tile"].as<std::string>())
                                                 : std::vector<std::string>{"default"};
      if (tiles.empty()) usage_error(help, desc, "--tile: no tile given");
      jobs = matrix_jobs(families, tiles, get_archs());
    }
  } catch (const BadValue& e) {
    usage_error(help, desc, e.what());
  }
  const std::size_t merged = merge_duplicates(jobs);
  if (jobs.empty() && from_manifest && !from_preset)
    usage_error(help, desc, "nothing to compile: the manifest lists no kernel");
  if (jobs.empty() && rejected.count > 0)
    usage_error(help, desc,
                "nothing to compile: select rejects all " + std::to_string(rejected.count) +
                    " problems of the given models; the first: " + rejected.first);
  if (jobs.empty())
    usage_error(help, desc,
                "nothing to compile: no combination of the given --variant, --format and --dtype "
                "is a kernel (f32 goes with scalar_gguf, f16 and bf16 with wmma and wmma_gguf)");
  const bool json = vm.count("json") > 0;
  if (vm.count("dry-run")) {
    print_dry_run(jobs, json);
    return 0;
  }

  Knobs knobs = command_knobs(vm);
  knobs.no_jit = false;  // precompiling is compiling
  if (vm.count("cache-dir")) {
    knobs.readonly_dirs.clear();
    knobs.cache_max_bytes.reset();
  }
  ArtifactStore store(knobs);
  if (store.memory_only())
    throw Error(ErrorCode::CacheError,
                "the cache directory '" + store.cache_dir().string() +
                    "' cannot be written (see the warning above), so nothing would be kept; "
                    "pass --cache-dir with a writable directory");

  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (vm.count("jobs")) {
    threads = vm["jobs"].as<unsigned>();
    if (threads == 0) usage_error(help, desc, "--jobs must be at least 1");
  }
  const auto start = std::chrono::steady_clock::now();
  ProgressReport progress(std::cerr, jobs.size(), isatty(STDERR_FILENO) == 1);
  const std::vector<JobResult> results = run_jobs(store, jobs, threads, progress);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::size_t compiled = 0, cached = 0, failed = 0;
  for (const auto& r : results) {
    compiled += r.status == JobStatus::Compiled;
    cached += r.status == JobStatus::Cached;
    failed += r.status == JobStatus::Failed;
  }
  if (json) {
    nlohmann::json kernels = nlohmann::json::array();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      nlohmann::json k = {{"key", jobs[i].key_text},
                          {"origin", jobs[i].origin},
                          {"status", job_status_name(results[i].status)},
                          {"seconds", results[i].seconds}};
      if (!results[i].digest.empty()) k["digest"] = results[i].digest;
      if (!results[i].source.empty()) k["found_in"] = results[i].source;
      if (!results[i].error.empty()) k["error"] = results[i].error;
      kernels.push_back(k);
    }
    const nlohmann::json summary = {{"command", "precompile"},
                                    {"cache_dir", store.cache_dir().string()},
                                    {"threads", threads},
                                    {"seconds", seconds},
                                    {"total", jobs.size()},
                                    {"compiled", compiled},
                                    {"cached", cached},
                                    {"failed", failed},
                                    {"duplicates_merged", merged},
                                    {"rejected_by_select", rejected.count},
                                    {"kernels", kernels}};
    std::cout << summary.dump(2) << "\n";
  } else {
    std::cout << "precompile: " << jobs.size()
              << (jobs.size() == 1 ? " kernel for " : " kernels for ") << arch_summary(jobs)
              << " in '" << store.cache_dir().string() << "' (" << human_seconds(seconds) << ", "
              << threads << (threads == 1 ? " thread)\n" : " threads)\n");
    if (cached == jobs.size())
      std::cout << "  all " << jobs.size() << (jobs.size() == 1 ? " kernel" : " kernels")
                << " already cached\n";
    std::cout << "  compiled        " << compiled << "\n"
              << "  already cached  " << cached << "\n"
              << "  failed          " << failed << "\n";
    if (merged > 0) std::cout << "  (" << merged << " duplicate specs merged)\n";
    if (rejected.count > 0)
      std::cout << "  (" << rejected.count << " preset problems select rejects were left out)\n";
    if (failed > 0) {
      std::cout << "failed kernels:\n";
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (results[i].status != JobStatus::Failed) continue;
        std::cout << "  " << jobs[i].key_text << " (" << jobs[i].origin << "):\n    ";
        for (char c : results[i].error) {
          std::cout << c;
          if (c == '\n') std::cout << "    ";
        }
        std::cout << "\n";
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace moejit::cli
