// `moejit tune`: for each problem point, compiles the candidate tiles in parallel, times each on
// the GPU through MoePlan, checks the fastest against the CPU reference, and writes the winners
// as a tile table (docs/tuning.md).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cache/artifact_store.hpp"
#include "cli/cli_support.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/gpu_problem.hpp"
#include "cli/gpu_timing.hpp"
#include "cli/progress.hpp"
#include "cli/tune_points.hpp"
#include "codegen/arch_limits.hpp"
#include "codegen/kernel_key.hpp"
#include "codegen/tile_candidates.hpp"
#include "runtime/call_timer.hpp"
#include "runtime/driver.hpp"
#include "runtime/plan_artifact.hpp"
#include "runtime/plan_checks.hpp"
#include "runtime/template_source.hpp"

namespace moejit::cli {
namespace {

CommandHelp tune_help() {
  return {"tune",
          "tune [--preset tracked] [--shape E,TOPK,N,K ...] [--variant LIST] [--format LIST]\n"
          "                   [--element LIST] [--tokens LIST] [--iters N] [--warmup N] [-j N]\n"
          "                   [--max-candidates N] [--final-rounds N] [--final-margin PCT]\n"
          "                   [--check-tokens N] [--weights] [--out FILE] [--merge]\n"
          "                   [--keep-margin PCT] [--pin] [--json]",
          "Measures the best tile of every problem point on GPU 0 and writes them as a tile table\n"
          "that MoePlan::select consults (PlanPreference::tile_table or MOEJIT_TILE_TABLE; see\n"
          "docs/tuning.md). A point is a family (variant, format, element type) x a shape\n"
          "(--preset, --shape) x a token count (--tokens). For each point the candidate tiles\n"
          "(the default tile and up to 19 others, see codegen/tile_candidates.hpp) are compiled\n"
          "first, all points at once, on -j threads (progress on stderr); then each candidate is\n"
          "timed back to back as `moejit bench` times a kernel (--warmup runs, then --iters runs\n"
          "in batches between CUDA events, median per run, operands rotated out of L2; no alone\n"
          "runs) on random data, routed as the GPU benchmark routes (a draw touching the\n"
          "expected number of experts): one activation row per token and no top-k weights (the\n"
          "up-projection GEMM the tracked benchmarks time), or with --weights one row per pair\n"
          "and top-k weights. The candidates within --final-margin percent of the fastest (at\n"
          "most 4) are timed again in --final-rounds rounds, each timing them all in turn (the\n"
          "order reversed every other round), and ranked by the median of their round figures,\n"
          "so that run-to-run spread of a few percent does not pick the winner; the others stay\n"
          "ranked by their first figure, after them. The first in that order is run once more\n"
          "and checked against the CPU reference as `moejit verify` does (on the point's first\n"
          "--check-tokens tokens), the next one taken when it fails. Candidates\n"
          "that fail to compile, run or check are reported and skipped. With --merge and\n"
          "--keep-margin, a point that has an entry in --out also times that entry's tile (and\n"
          "makes it a finalist when it is within --final-margin) and keeps it unless the fastest\n"
          "candidate takes at least --keep-margin percent less time, so that a re-tune changes\n"
          "only the tiles it measures as clearly faster. The table is stamped\n"
          "with this build (codegen version, template bundle hash), the device's architecture\n"
          "and name, and the UTC date; it goes to --out (default <cache dir>/tuning/<arch>.json),\n"
          "written atomically. Exit status 1 when there is no GPU or a point got no tile.",
          "Families: without --element, scalar_gguf f32, wmma_gguf bf16, and wmma f16 and bf16;\n"
          "--format applies to scalar_gguf and wmma_gguf. --preset tracked is qwen3-30b-a3b\n"
          "(E 128, top_k 8, N 768, K 2048) and mixtral-8x7b (E 8, top_k 2, N 14336, K 4096).\n"
          "\nExamples:\n"
          "  moejit tune --preset tracked --variant scalar_gguf,wmma_gguf --pin \\\n"
          "      --out codegen/tile_tables/sm_90.json\n"
          "  moejit tune --shape 64,6,1408,2048 --variant wmma_gguf --format q4_k --merge\n"
          "  moejit tune --preset tracked --variant scalar_gguf --tokens 1,8,32 --merge \\\n"
          "      --keep-margin 1.5 --pin --out codegen/tile_tables/sm_90.json\n"
          "  moejit tune --shape 8,2,256,512 --tokens 4 --variant wmma --element f16 "
          "--max-candidates 2\n"};
}

po::options_description tune_options() {
  po::options_description desc("options");
  desc.add_options()                                                               //
      ("preset", po::value<std::string>()->value_name("NAME"), "shapes: tracked")  //
      ("shape", po::value<std::vector<std::string>>()->value_name("E,TOPK,N,K")->composing(),
       "a shape: experts, experts per token, N (output width), K (input width); repeatable")  //
      ("variant", po::value<std::string>()->value_name("LIST")->default_value("all"),
       "scalar_gguf wmma wmma_gguf")  //
      ("format", po::value<std::string>()->value_name("LIST")->default_value("all"),
       "GGUF weight formats of the GGUF variants")  //
      ("element", po::value<std::string>()->value_name("LIST"),
       "element types: f32 f16 bf16 (default: see below)")  //
      ("tokens", po::value<std::string>()->value_name("LIST")->default_value("1,8,32,128,512"),
       "token counts")                                                                        //
      ("iters", po::value<int>()->value_name("N")->default_value(30), "timed runs per tile")  //
      ("warmup", po::value<int>()->value_name("N")->default_value(5), "untimed runs first")   //
      ("jobs,j", po::value<unsigned>()->value_name("N"),
       "compile threads (default: the hardware's)")  //
      ("max-candidates", po::value<int>()->value_name("N")->default_value(0),
       "time only the first N candidates of each point (0: all)")  //
      ("final-rounds", po::value<int>()->value_name("N")->default_value(3),
       "rounds of timing for the finalists (0: rank by the first timing alone)")  //
      ("final-margin", po::value<double>()->value_name("PCT")->default_value(3.0),
       "finalists: the candidates within PCT percent of the fastest")  //
      ("check-tokens", po::value<int>()->value_name("N")->default_value(64),
       "check winners on at most N tokens of the point (0: all of them)")                     //
      ("weights", "tune with top-k weights (activation rows per pair, the down projection)")  //
      ("out", po::value<std::string>()->value_name("FILE"), "the table to write")             //
      ("merge", "keep the entries of an existing --out for points not tuned now")             //
      ("keep-margin", po::value<double>()->value_name("PCT")->default_value(0.0),
       "with --merge: a point keeps its tile in --out unless a candidate takes at least PCT "
       "percent less time")                                                         //
      ("pin", "stamp the table pinned: accepted by later builds (docs/tuning.md)")  //
      ("json", "print the results as JSON on stdout")                               //
      ("help,h", "show this help");
  return desc;
}

std::vector<int> parse_tokens(const std::string& text) {
  std::vector<int> out;
  for (const std::string& item : split_list(text)) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 1)
      throw BadValue("--tokens: '" + item + "' is not a positive token count");
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  if (out.empty()) throw BadValue("--tokens: no token count given");
  return out;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

struct Candidate {
  Tile tile;
  KernelSpec spec;
  std::string key;
  double median_us = -1;
  double final_us = -1;  // median of the finalist rounds, when it was a finalist
  std::string failure;   // "compile: ...", "run: ...", "check: ..."
  bool best = false;
};

struct PointWork {
  TunePoint point;
  MoeDescriptor descriptor;
  std::vector<Candidate> candidates;
  std::string skipped;  // why select rejects the point
  std::optional<std::size_t> winner;
  int experts_touched = 0;               // by the point's routing
  std::optional<std::size_t> incumbent;  // the candidate of the point's entry in --out (--merge)
  bool kept = false;                     // the incumbent won by --keep-margin, not by its time
};

MoeDescriptor with_tile(MoeDescriptor d, const Tile& t) {
  d.tile = TileRequest{t.bm, t.bn, t.bk, t.warps, t.stages, t.reg_weights};
  return d;
}

// Compiles every distinct candidate kernel on `threads` threads into the process's cache;
// returns the failure of each key that did not compile.
std::map<std::string, std::string> compile_all(const std::vector<PointWork>& work,
                                               unsigned threads) {
  std::vector<const Candidate*> unique;
  std::set<std::string> seen;
  std::map<std::string, std::string> failed;
  for (const PointWork& w : work)
    for (const Candidate& c : w.candidates)
      if (seen.insert(c.key).second) unique.push_back(&c);
  ProgressReport progress(std::cerr, unique.size(), isatty(STDERR_FILENO) == 1);
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < unique.size(); i = next++) {
      const auto start = std::chrono::steady_clock::now();
      JobStatus status = JobStatus::Failed;
      std::string error;
      try {
        LookupInfo info;
        artifact_from_store(process_artifact_store(), unique[i]->spec, &info);
        status = info.source == ArtifactSource::Compiled ? JobStatus::Compiled : JobStatus::Cached;
      } catch (const std::exception& e) {
        error = e.what();
        std::lock_guard<std::mutex> lock(mutex);
        failed[unique[i]->key] = error;
      }
      progress.finished(
          status, unique[i]->key,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), error);
    }
  };
  std::vector<std::thread> pool;
  const unsigned count = std::max(1u, std::min<unsigned>(threads, unique.size()));
  for (unsigned t = 1; t < count; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  progress.close();
  return failed;
}

ProblemOptions problem_options(const TunePoint& p, int tokens, bool weighted) {
  ProblemOptions o;
  o.tokens = tokens;
  o.experts = static_cast<int>(p.shape.experts);
  o.top_k = static_cast<int>(p.shape.top_k);
  o.n = static_cast<int>(p.shape.d_ff);
  o.k = static_cast<int>(p.shape.d_model);
  o.weighted = weighted;
  o.prefill = tokens > 64;
  o.seed = 1;
  return o;
}

// How the finalists of a point are timed again (--final-rounds, --final-margin).
struct FinalRounds {
  int rounds = 3;
  double margin_percent = 3.0;
};
constexpr std::size_t kMaxFinalists = 4;

// `order` ranks the timed candidates by their first figure. The leading ones within the margin
// of the fastest (at most kMaxFinalists) are timed again, round after round, each round timing
// them all in turn (the order reversed every other round, so that none always runs first), and
// move to the front of `order` ranked by the median of their round figures. The incumbent tile
// (--merge) is a finalist whenever it is within the margin.
void run_finals(PointWork& w, std::vector<std::size_t>& order,
                const std::vector<std::optional<MoePlan>>& plans, DeviceProblem& device, int warmup,
                int iters, const FinalRounds& finals) {
  if (finals.rounds < 1 || order.size() < 2) return;
  const double limit = w.candidates[order.front()].median_us * (1.0 + finals.margin_percent / 100);
  std::vector<std::size_t> finalists;
  for (std::size_t i : order)
    if (w.candidates[i].median_us <= limit &&
        (finalists.size() < kMaxFinalists || (w.incumbent && i == *w.incumbent)))
      finalists.push_back(i);
  if (finalists.size() < 2) return;
  std::vector<std::vector<double>> figures(finalists.size());
  for (int r = 0; r < finals.rounds; ++r)
    for (std::size_t n = 0; n < finalists.size(); ++n) {
      const std::size_t f = r % 2 == 0 ? n : finalists.size() - 1 - n;
      figures[f].push_back(
          time_plan_back_to_back(*plans[finalists[f]], device, warmup, iters).median);
    }
  for (std::size_t f = 0; f < finalists.size(); ++f)
    w.candidates[finalists[f]].final_us = median(figures[f]);
  std::stable_sort(finalists.begin(), finalists.end(), [&](std::size_t a, std::size_t b) {
    return w.candidates[a].final_us < w.candidates[b].final_us;
  });
  std::copy(finalists.begin(), finalists.end(), order.begin());
}

// The figure a candidate is ranked by: its finalist median when it was a finalist.
double figure_us(const Candidate& c) { return c.final_us >= 0 ? c.final_us : c.median_us; }

// Whether the incumbent tile stays first against the fastest candidate under --keep-margin:
// unless the fastest takes at least keep_percent percent less time.
bool keeps_incumbent(double incumbent_us, double fastest_us, double keep_percent) {
  return keep_percent > 0 && fastest_us > incumbent_us * (1.0 - keep_percent / 100.0);
}

// Times every compiled candidate of a point, times the finalists again, puts the incumbent first
// when --keep-margin keeps it, then checks the first in the ranking (the next one when it fails).
void tune_point(PointWork& w, const HostProblem& host, int ordinal, int warmup, int iters,
                const FinalRounds& finals, double keep_percent, int check_tokens) {
  std::vector<std::optional<MoePlan>> plans(w.candidates.size());
  std::size_t workspace = 16;
  for (std::size_t i = 0; i < w.candidates.size(); ++i) {
    Candidate& c = w.candidates[i];
    if (!c.failure.empty()) continue;
    try {
      plans[i] = MoePlan::select(with_tile(w.descriptor, c.tile));
      workspace = std::max(workspace, plans[i]->workspace_size());
    } catch (const std::exception& e) {
      c.failure = std::string("select: ") + e.what();
    }
  }
  const auto first =
      std::find_if(plans.begin(), plans.end(), [](const auto& p) { return p.has_value(); });
  if (first == plans.end()) return;
  const int copies = rotation_copies(host.read_bytes(),
                                     host.activation_bytes() + host.weight_bytes(), ordinal, true);
  DeviceProblem device = upload_problem(host, **first, copies);
  if (device.workspace.bytes() < workspace) device.workspace = DeviceBuffer(workspace);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i]) continue;
    try {
      w.candidates[i].median_us = time_plan_back_to_back(*plans[i], device, warmup, iters).median;
      order.push_back(i);
    } catch (const std::exception& e) {
      w.candidates[i].failure = std::string("run: ") + e.what();
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return w.candidates[a].median_us < w.candidates[b].median_us;
  });
  run_finals(w, order, plans, device, warmup, iters, finals);
  bool keep = false;
  if (w.incumbent && !order.empty() && order.front() != *w.incumbent) {
    const auto at = std::find(order.begin(), order.end(), *w.incumbent);
    keep =
        at != order.end() && keeps_incumbent(figure_us(w.candidates[*at]),
                                             figure_us(w.candidates[order.front()]), keep_percent);
    if (keep) std::rotate(order.begin(), at, at + 1);
  }
  const int tokens = check_tokens > 0 ? std::min(check_tokens, w.point.tokens) : w.point.tokens;
  std::optional<HostProblem> small;
  if (tokens < w.point.tokens) small = first_tokens(host, tokens);
  for (std::size_t i : order) {
    Candidate& c = w.candidates[i];
    try {
      CheckResult check;
      if (small) {
        MoeDescriptor d = with_tile(w.descriptor, c.tile);
        d.num_tokens = tokens;
        const MoePlan plan = MoePlan::select(d);
        DeviceProblem check_device = upload_problem(*small, plan);
        check = run_and_check(plan, d, *small, check_device);
      } else {
        check = run_and_check(*plans[i], w.descriptor, host, device);
      }
      if (!check.pass) {
        c.failure = "check: " + check.summary();
        continue;
      }
    } catch (const std::exception& e) {
      c.failure = std::string("check: ") + e.what();
      continue;
    }
    c.best = true;
    w.winner = i;
    w.kept = keep && i == *w.incumbent;
    return;
  }
}

const char* best_mark(const PointWork& w, const Candidate& c) {
  return !c.best ? "" : w.kept ? "  best (kept: the table's tile, within --keep-margin)" : "  best";
}

void print_point(const PointWork& w) {
  std::printf("%s\n", point_text(w.point).c_str());
  if (!w.skipped.empty()) {
    std::printf("  skipped: %s\n", w.skipped.c_str());
    return;
  }
  for (const Candidate& c : w.candidates) {
    if (!c.failure.empty())
      std::printf("  %-18s  failed (%s)\n", tile_table_text(c.tile).c_str(),
                  c.failure.substr(0, c.failure.find('\n')).c_str());
    else if (c.final_us >= 0)
      std::printf("  %-18s  %10.2f us  finals %.2f us%s\n", tile_table_text(c.tile).c_str(),
                  c.median_us, c.final_us, best_mark(w, c));
    else if (c.median_us >= 0)
      std::printf("  %-18s  %10.2f us%s\n", tile_table_text(c.tile).c_str(), c.median_us,
                  best_mark(w, c));
  }
  if (!w.winner) std::printf("  no tile passed\n");
}

nlohmann::json point_json(const PointWork& w) {
  nlohmann::json j = {{"point", point_text(w.point)}};
  if (w.experts_touched > 0) j["experts_touched"] = w.experts_touched;
  if (!w.skipped.empty()) j["skipped"] = w.skipped;
  nlohmann::json list = nlohmann::json::array();
  for (const Candidate& c : w.candidates) {
    nlohmann::json item = {{"tile", tile_table_text(c.tile)}, {"kernel", c.key}};
    if (c.median_us >= 0) item["median_us"] = c.median_us;
    if (c.final_us >= 0) item["final_us"] = c.final_us;
    if (!c.failure.empty()) item["error"] = c.failure;
    item["best"] = c.best;
    list.push_back(item);
  }
  j["candidates"] = list;
  if (w.winner) {
    j["best"] = tile_table_text(w.candidates[*w.winner].tile);
    j["best_us"] = figure_us(w.candidates[*w.winner]);
    if (w.incumbent) j["incumbent"] = tile_table_text(w.candidates[*w.incumbent].tile);
    j["kept"] = w.kept;
  }
  return j;
}

}  // namespace

int run_tune(const Args& args) {
  const CommandHelp help = tune_help();
  const po::options_description desc = tune_options();
  const auto parsed = parse_command_line(help, desc, args);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("preset") && !vm.count("shape"))
    usage_error(help, desc, "give --preset tracked or at least one --shape E,TOPK,N,K");
  std::vector<TunePoint> points;
  try {
    std::vector<ModelShape> shapes;
    if (vm.count("preset")) shapes = tune_preset(vm["preset"].as<std::string>());
    if (vm.count("shape"))
      for (const auto& s : vm["shape"].as<std::vector<std::string>>())
        shapes.push_back(parse_model_shape(s));
    std::optional<std::vector<ElementKind>> elements;
    if (vm.count("element")) elements = parse_element_list(vm["element"].as<std::string>());
    const auto families =
        tune_families(parse_variant_list(vm["variant"].as<std::string>()),
                      parse_format_list(vm["format"].as<std::string>()), elements);
    points = tune_points(shapes, parse_tokens(vm["tokens"].as<std::string>()), families);
  } catch (const BadValue& e) {
    usage_error(help, desc, e.what());
  }
  if (points.empty())
    usage_error(help, desc,
                "no family to tune: f32 goes with scalar_gguf, f16 and bf16 with "
                "wmma and wmma_gguf");
  const int iters = vm["iters"].as<int>();
  const int warmup = vm["warmup"].as<int>();
  const int max_candidates = vm["max-candidates"].as<int>();
  const int check_tokens = vm["check-tokens"].as<int>();
  const FinalRounds finals{vm["final-rounds"].as<int>(), vm["final-margin"].as<double>()};
  const bool weighted = vm.count("weights") > 0;
  const bool merge = vm.count("merge") > 0;
  const double keep_percent = vm["keep-margin"].as<double>();
  if (!(keep_percent >= 0 && keep_percent < 100))
    usage_error(help, desc, "--keep-margin must be a percentage from 0 to below 100");
  if (keep_percent > 0 && !merge)
    usage_error(help, desc, "--keep-margin needs --merge (the table whose tiles are kept)");
  if (iters < 1) usage_error(help, desc, "--iters must be at least 1");
  if (warmup < 0) usage_error(help, desc, "--warmup must be at least 0");
  if (max_candidates < 0) usage_error(help, desc, "--max-candidates must be at least 0");
  if (check_tokens < 0) usage_error(help, desc, "--check-tokens must be at least 0");
  if (finals.rounds < 0) usage_error(help, desc, "--final-rounds must be at least 0");
  if (!(finals.margin_percent >= 0 && finals.margin_percent <= 1000))
    usage_error(help, desc, "--final-margin must be a percentage from 0 to 1000");
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (vm.count("jobs") && (threads = vm["jobs"].as<unsigned>()) == 0)
    usage_error(help, desc, "--jobs must be at least 1");
  require_device("tune");
  std::string why;
  const std::optional<GpuArch> arch = detect_device_arch(&why);
  if (!arch) throw Error(ErrorCode::Unsupported, "moejit tune: " + why);
  const std::filesystem::path out =
      vm.count("out") ? std::filesystem::path(vm["out"].as<std::string>())
                      : Knobs::get().cache_dir / "tuning" / (arch->to_string() + ".json");

  // The table --merge adds to, read before anything is timed.
  std::optional<TileTable> old;
  if (merge && std::filesystem::exists(out)) {
    const std::vector<std::uint8_t> bytes = read_file(out);
    old = TileTable::parse(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), out.string());
    if (!old->serves(*arch))
      throw Error(ErrorCode::InvalidProblem, "--merge: '" + out.string() + "' holds a table for " +
                                                 old->stamp.arch + ", this GPU is " +
                                                 arch->to_string() + "; pick another --out");
  }

  std::vector<PointWork> work;
  for (const TunePoint& p : points) {
    PointWork w{p, tune_descriptor(p), {}, {}, std::nullopt, 0, std::nullopt, false};
    try {
      plan_checks::validate_descriptor(w.descriptor);
      const ProblemDims dims = plan_checks::problem_dims(
          w.descriptor, w.descriptor.num_tokens * w.descriptor.top_k, true);
      // The candidates of the target the kernels are generated for (sm_90a for the tensor-core
      // variants on an sm_90 device, so that its warpgroup tiles are among them).
      std::vector<Tile> tiles = candidate_tiles(p.family.variant, p.family.format, p.family.element,
                                                kernel_target(p.family.variant, *arch), dims);
      if (max_candidates > 0 && tiles.size() > static_cast<std::size_t>(max_candidates))
        tiles.resize(static_cast<std::size_t>(max_candidates));
      // The point's entry in the merged table is timed too, so that it can be kept.
      std::optional<Tile> incumbent;
      if (keep_percent > 0 && old) {
        const TileTableEntry here = point_entry(p, {});
        const auto at = std::find_if(old->entries.begin(), old->entries.end(),
                                     [&](const TileTableEntry& e) { return same_point(e, here); });
        if (at != old->entries.end()) incumbent = at->tile;
      }
      const auto candidate = [&](const Tile& t) {
        Candidate c;
        c.tile = t;
        c.spec = plan_checks::make_spec(with_tile(w.descriptor, t), *arch, false);
        c.key = kernel_key_text(c.spec);
        return c;
      };
      for (const Tile& t : tiles) {
        if (incumbent && t == *incumbent) w.incumbent = w.candidates.size();
        w.candidates.push_back(candidate(t));
      }
      if (incumbent && !w.incumbent) {
        try {  // a tile the rules of this build no longer accept is not kept
          w.candidates.push_back(candidate(*incumbent));
          w.incumbent = w.candidates.size() - 1;
        } catch (const Error&) {
        }
      }
    } catch (const Error& e) {
      w.skipped = error_text(e);
    }
    work.push_back(std::move(w));
  }
  const auto start = std::chrono::steady_clock::now();
  const auto failed = compile_all(work, threads);
  for (PointWork& w : work)
    for (Candidate& c : w.candidates)
      if (auto it = failed.find(c.key); it != failed.end()) c.failure = "compile: " + it->second;

  driver::current_or_primary_context(0);  // GPU 0, as select picks it
  const int ordinal = driver::active_device();
  // Points of one shape and family are adjacent: one set of random operands serves them all.
  std::optional<HostProblem> full;
  std::string full_key;
  std::vector<TileTableEntry> entries;
  bool missing = false;
  for (std::size_t i = 0; i < work.size(); ++i) {
    PointWork& w = work[i];
    if (w.skipped.empty()) {
      std::cerr << "tune: [" << i + 1 << "/" << work.size() << "] " << point_text(w.point) << "\n";
      try {
        const std::string key = point_text({w.point.family, w.point.shape, 0});
        if (key != full_key) {
          int most = w.point.tokens;
          for (std::size_t j = i; j < work.size(); ++j)
            if (point_text({work[j].point.family, work[j].point.shape, 0}) == key)
              most = std::max(most, work[j].point.tokens);
          MoeDescriptor d = w.descriptor;
          d.num_tokens = most;
          full.reset();
          full_key.clear();
          full = make_host_problem(d, problem_options(w.point, most, weighted));
          full_key = key;
        }
        std::optional<HostProblem> part;
        // Each token count routed by its own typical draw (as bench routes it), on shared weights.
        if (w.point.tokens < full->shape.num_tokens)
          part = typical_tokens(*full, w.point.tokens,
                                problem_options(w.point, w.point.tokens, weighted).seed);
        w.experts_touched = (part ? *part : *full).touched_experts;
        tune_point(w, part ? *part : *full, ordinal, warmup, iters, finals, keep_percent,
                   check_tokens);
      } catch (const std::exception& e) {
        w.skipped = std::string("failed: ") + e.what();
      }
      if (w.winner) {
        const Candidate& c = w.candidates[*w.winner];
        entries.push_back(point_entry(w.point, c.tile, figure_us(c)));
      } else {
        missing = true;
      }
    }
    if (!vm.count("json")) print_point(w);
  }

  TileTable table;
  table.stamp.schema = kTileTableSchema;
  table.stamp.codegen_version = kCodegenVersion;
  table.stamp.template_bundle_hash = TemplateSource::current().bundle_hash();
  table.stamp.arch = GpuArch{arch->sm, false}.to_string();
  table.stamp.device = driver::device_name(ordinal);
  table.stamp.date = utc_now();
  table.stamp.pinned = vm.count("pin") > 0;
  table.entries = entries;
  if (old) table.entries = merge_entries(old->entries, entries);
  if (!out.parent_path().empty()) std::filesystem::create_directories(out.parent_path());
  const std::string text = table.to_json();
  write_file_atomically(out, std::span<const std::uint8_t>(
                                 reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (vm.count("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const PointWork& w : work) list.push_back(point_json(w));
    std::cout << nlohmann::json{{"command", "tune"},
                                {"device", table.stamp.device},
                                {"arch", table.stamp.arch},
                                {"out", out.string()},
                                {"pinned", table.stamp.pinned},
                                {"seconds", seconds},
                                {"entries", table.entries.size()},
                                {"points", list}}
                     .dump(2)
              << "\n";
  } else {
    std::printf("tune: %zu points on %s (%s) in %s; %zu entries written to '%s'%s\n", work.size(),
                table.stamp.device.c_str(), table.stamp.arch.c_str(),
                human_seconds(seconds).c_str(), table.entries.size(), out.string().c_str(),
                table.stamp.pinned ? " (pinned)" : "");
  }
  return missing ? 1 : 0;
}

}  // namespace moejit::cli
