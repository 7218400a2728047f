// Writing the GPU benchmark's results as text, markdown, JSON and a compact summary.
#include "bench/gpu/report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/call_timer.hpp"

namespace moejit::gpubench {
namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;  // right-aligned in text, ---: in markdown
  std::vector<std::vector<std::string>> rows;
};

// Display width of UTF-8 text (code points; every character here is one column).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void render_text(std::ostream& out, const Table& t) {
  std::vector<std::size_t> w(t.header.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < w.size(); ++i)
      w[i] = std::max(w[i], width(row[i]));
  };
  widen(t.header);
  for (const auto& r : t.rows) widen(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(w[i] - width(cell), ' ');
      s += (i ? "  " : "") + (t.numeric[i] ? pad + cell : cell + pad);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(t.header);
  for (const auto& r : t.rows) line(r);
}

void render_markdown(std::ostream& out, const Table& t) {
  auto line = [&](const std::vector<std::string>& row) {
    out << '|';
    for (const std::string& c : row) out << ' ' << c << " |";
    out << '\n';
  };
  line(t.header);
  out << '|';
  for (bool n : t.numeric) out << (n ? "---:|" : "---|");
  out << '\n';
  for (const auto& r : t.rows) line(r);
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Three significant digits for values from 1 up, at least one decimal below 1000.
std::string time_text(double us) {
  if (us < 10) return fixed(us, 2);
  if (us < 1000) return fixed(us, 1);
  return fixed(us, 0);
}

std::string ratio_text(double r) { return fixed(r, 2) + "x"; }

std::string pad_left(const std::string& s, std::size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

// The tile part of a kernel key: what follows the architecture ("64x64x32:w4:s3").
std::string tile_of(const std::string& sku) {
  const std::size_t arch = sku.find(":sm_");
  if (arch == std::string::npos) return sku;
  const std::size_t after = sku.find(':', arch + 1);
  return after == std::string::npos ? std::string() : sku.substr(after + 1);
}

std::vector<std::string> shape_names(const Report& r) {
  std::vector<std::string> names;
  for (const PointResult& p : r.points)
    if (std::find(names.begin(), names.end(), p.shape.name) == names.end())
      names.emplace_back(p.shape.name);
  return names;
}

std::string shape_heading(const Shape& s) {
  return std::string(s.name) + " (E " + std::to_string(s.experts) + ", top_k " +
         std::to_string(s.top_k) + ", N " + std::to_string(s.n) + ", K " + std::to_string(s.k) +
         ")";
}

// A point of the tables: shape, weight format and token count.
using PointKey = std::tuple<std::string, std::string, int>;

PointKey key_of(const PointResult& p) {
  return {std::string(p.shape.name), p.kernel.weight_name(), p.tokens};
}

double cold_us(const PointResult& p) { return p.median_us; }

// A point's time like for like with the peers: back to back on one buffer set where its
// operands fit in L2 (the peers reran theirs on the same tensors), else its figure.
double like_for_like_us(const PointResult& p) { return p.warm_us > 0 ? p.warm_us : p.median_us; }

// The fastest timed kernel of each point by `us`.
std::map<PointKey, const PointResult*> fastest(const Report& r, double (*us)(const PointResult&)) {
  std::map<PointKey, const PointResult*> best;
  for (const PointResult& p : r.points) {
    if (!p.timed()) continue;
    const PointResult*& b = best[key_of(p)];
    if (b == nullptr || us(p) < us(*b)) b = &p;
  }
  return best;
}

Table detail_table(const Report& r, const std::string& shape, bool with_check) {
  Table t;
  t.header = {"kernel", "tokens",  "tile",     "sets",    "µs",   "alone µs", "warm µs",
              "GB/s",   "TFLOP/s", "floor µs", "x floor", "peer", "peer µs",  "x peer"};
  if (with_check) t.header.push_back("check");
  t.numeric = {false, true, false, true,  true, true, true, true,
               true,  true, true,  false, true, true, false};
  t.numeric.resize(t.header.size());
  for (const PointResult& p : r.points) {
    if (p.shape.name != shape) continue;
    std::vector<std::string> row{p.kernel.label(), std::to_string(p.tokens), tile_of(p.sku),
                                 std::to_string(p.sets)};
    if (p.timed()) {
      row.push_back(time_text(p.median_us));
      row.push_back(time_text(p.alone_us));
      row.push_back(p.warm_us > 0 ? time_text(p.warm_us) : "-");
      row.push_back(fixed(p.bytes / p.median_us / 1e3, 0));
      row.push_back(fixed(p.flops / p.median_us / 1e6, 1));
      row.push_back(time_text(p.floor_us));
      row.push_back(ratio_text(p.median_us / p.floor_us));
      row.push_back(p.peer ? p.peer->name : "-");
      row.push_back(p.peer ? time_text(p.peer->us) : "-");
      row.push_back(p.peer ? ratio_text(p.median_us / p.peer->us) : "-");
    } else {
      row.push_back("error");  // the message follows the table
      row.resize(14, "-");
    }
    if (with_check) {
      row.resize(t.header.size() - 1);
      row.push_back(p.check.empty() ? "-" : p.check.substr(0, 4));  // PASS or FAIL
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// Per weight format (rows) and token count (columns): the fastest moejit kernel (S ScalarGguf,
// W WmmaGguf or Wmma) and its time against the peer's.
// Text pads the parts of a cell to fixed widths so that its right-aligned columns line up.
Table summary_table(const Report& r, const std::string& shape, bool padded) {
  std::vector<int> tokens;
  std::vector<std::string> weights;
  for (const PointResult& p : r.points) {
    if (p.shape.name != shape || !p.timed()) continue;
    if (std::find(tokens.begin(), tokens.end(), p.tokens) == tokens.end())
      tokens.push_back(p.tokens);
    const std::string w = p.kernel.weight_name();
    if (std::find(weights.begin(), weights.end(), w) == weights.end()) weights.push_back(w);
  }
  const std::map<PointKey, const PointResult*> best = fastest(r, cold_us);
  std::sort(tokens.begin(), tokens.end());
  Table t;
  t.header = {"weights"};
  t.numeric = {false};
  for (int n : tokens) {
    t.header.push_back(std::string("T=").append(std::to_string(n)));
    t.numeric.push_back(true);
  }
  for (const std::string& w : weights) {
    std::vector<std::string> row{w};
    for (int n : tokens) {
      const auto it = best.find({shape, w, n});
      if (it == best.end()) {
        row.emplace_back("-");
        continue;
      }
      const PointResult& p = *it->second;
      std::string cell = pad_left(time_text(p.median_us), padded ? 6 : 0);
      cell += p.kernel.variant == MoeVariant::ScalarGguf ? " S " : " W ";
      cell += pad_left(p.peer ? ratio_text(p.median_us / p.peer->us) : std::string("-"),
                       padded ? 5 : 0);
      row.push_back(std::move(cell));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// How the best moejit kernel of each point with a peer compares with it, timed as the tables are
// (operands rotated out of L2) and like for like: one line each, with the points slower than the
// peer.
std::vector<std::string> standing_lines(const Report& r) {
  std::vector<PointKey> order;  // the points with a peer, in table order
  for (const PointResult& p : r.points)
    if (p.timed() && p.peer && std::find(order.begin(), order.end(), key_of(p)) == order.end())
      order.push_back(key_of(p));
  if (order.empty()) return {};
  const auto line = [&](const std::string& how, double (*us)(const PointResult&)) {
    const std::map<PointKey, const PointResult*> best = fastest(r, us);
    std::size_t faster = 0;
    std::string slower;
    for (const PointKey& key : order) {
      const PointResult& p = *best.at(key);
      if (us(p) < p.peer->us) {
        ++faster;
        continue;
      }
      slower += (slower.empty() ? "" : "; ") + std::get<0>(key) + " " + std::get<1>(key) +
                " T=" + std::to_string(std::get<2>(key)) + " " + time_text(us(p)) + " (" +
                fixed(us(p) / p.peer->us, 3) + "x)";
    }
    return how + ": " + std::to_string(faster) + " of " + std::to_string(order.size()) +
           " points faster than the best peer" + (slower.empty() ? "" : "; slower: " + slower);
  };
  return {line("Timed as in the tables (operands rotated out of L2)", cold_us),
          line("Like for like (weights left in L2 between calls where they fit, as the peers "
               "ran: warm µs)",
               like_for_like_us)};
}

Table overhead_table(const Report& r) {
  Table t;
  t.header = {"kernel", "point", "select (cached) µs", "run enqueue µs"};
  t.numeric = {false, false, true, true};
  for (const HostOverhead& o : r.overheads)
    t.rows.push_back({o.sku, o.point, fixed(o.select_us, 1), fixed(o.run_us, 1)});
  return t;
}

// The errors and failed checks of a shape's points, one line each, after its table.
std::vector<std::string> error_lines(const Report& r, const std::string& shape) {
  std::vector<std::string> lines;
  for (const PointResult& p : r.points) {
    if (p.shape.name != shape) continue;
    const std::string point = p.kernel.label() + " T=" + std::to_string(p.tokens) + ": ";
    if (!p.error.empty()) lines.push_back("error: " + point + p.error);
    if (p.check.rfind("FAIL", 0) == 0) lines.push_back("check: " + point + p.check);
  }
  return lines;
}

bool any_checked(const Report& r) {
  return std::any_of(r.points.begin(), r.points.end(),
                     [](const PointResult& p) { return !p.check.empty(); });
}

const Shape* find_shape(const Report& r, const std::string& name) {
  for (const PointResult& p : r.points)
    if (p.shape.name == name) return &p.shape;
  return nullptr;
}

std::string legend(const Report& r) {
  return "µs: median device time per call of " + std::to_string(r.iters) +
         " calls enqueued back to back in batches of " +
         std::to_string(CallTimer::kBackToBackBatch) +
         " with a pair of CUDA events around each batch (as the peers' figures were taken: "
         "llama.cpp's test-backend-ops runs one graph holding the op many times, vLLM's MoE "
         "benchmark one CUDA graph of ten calls), after " +
         std::to_string(r.warmup) +
         " warm-up calls; alone µs: median of as many calls each between its own pair of events, "
         "whose records add device time that shows on short calls; warm µs: back to back on "
         "one buffer set, whose weights then stay in L2 as the peers' did (points whose sets "
         "rotate only). Every batch is enqueued before the device starts it. sets: buffer sets "
         "rotated between (L2 " +
         std::to_string(r.l2_bytes >> 20) +
         " MiB). Routing: top_k distinct random experts per token, a draw touching the expected "
         "number of experts (rounded). Bytes = weights of the experts touched at the format's "
         "size + activations + output. floor = max(bytes / " +
         fixed(kPeakBytesPerSecond / 1e12, 1) + " TB/s, flops / " +
         fixed(kPeakFlopsPerSecond / 1e12, 0) +
         " TFLOP/s); x floor and x peer are time / floor and time / peer (below 1: faster than "
         "the peer). Peers: shared/docs/performance.md (H100 80GB HBM3); GGUF formats: ggml "
         "MUL_MAT_ID; bf16: the faster of vLLM Triton and ggml. Summary cells: best moejit time, "
         "S = ScalarGguf or W = WmmaGguf / Wmma, and x peer.";
}

}  // namespace

void write_text(std::ostream& out, const Report& r) {
  out << "moejit GPU benchmark: " << r.device << ", " << r.date << " UTC\n"
      << r.command << "\n"
      << legend(r) << "\n"
      << "select phase: " << fixed(r.select_seconds, 1) << " s for " << r.distinct_kernels
      << " distinct kernels\n";
  for (const std::string& name : shape_names(r)) {
    out << "\n== " << shape_heading(*find_shape(r, name)) << " ==\n";
    render_text(out, detail_table(r, name, any_checked(r)));
    for (const std::string& e : error_lines(r, name)) out << e << '\n';
    out << "\nbest moejit kernel per weight format:\n";
    render_text(out, summary_table(r, name, true));
  }
  const std::vector<std::string> standing = standing_lines(r);
  if (!standing.empty()) out << '\n';
  for (const std::string& s : standing) out << s << '\n';
  if (!r.overheads.empty()) {
    out << "\nhost overhead (median µs per call):\n";
    render_text(out, overhead_table(r));
  }
}

void write_markdown(std::ostream& out, const Report& r) {
  out << "## GPU kernels: " << r.device << ", " << r.date << " UTC\n\n"
      << "```sh\n"
      << r.command << "\n```\n\n"
      << legend(r) << " Select phase: " << fixed(r.select_seconds, 1) << " s for "
      << r.distinct_kernels << " distinct kernels.\n";
  for (const std::string& name : shape_names(r)) {
    out << "\n### " << shape_heading(*find_shape(r, name)) << "\n\n"
        << "Best moejit kernel per weight format (µs, kernel, x peer):\n\n";
    render_markdown(out, summary_table(r, name, false));
    out << "\nEvery kernel:\n\n";
    render_markdown(out, detail_table(r, name, any_checked(r)));
    const std::vector<std::string> errors = error_lines(r, name);
    if (!errors.empty()) out << '\n';
    for (const std::string& e : errors) out << "- " << e << '\n';
  }
  const std::vector<std::string> standing = standing_lines(r);
  if (!standing.empty()) out << "\n### Against the peers\n\n";
  for (const std::string& s : standing) out << "- " << s << '\n';
  if (!r.overheads.empty()) {
    out << "\n### Host overhead (median µs per call)\n\n";
    render_markdown(out, overhead_table(r));
  }
}

void write_summary(std::ostream& out, const Report& r) {
  out << "moejit_gpu_bench " << r.device << ", " << r.date
      << " UTC: best moejit µs per call, S/W = ScalarGguf/WmmaGguf(Wmma), x = time / peer\n";
  for (const std::string& name : shape_names(r)) {
    out << name << ":\n";
    render_text(out, summary_table(r, name, true));
  }
  for (const std::string& s : standing_lines(r)) out << s << '\n';
  if (!r.overheads.empty()) render_text(out, overhead_table(r));
  std::size_t failed = 0;
  for (const PointResult& p : r.points)
    if (!p.error.empty() || p.check.rfind("FAIL", 0) == 0) ++failed;
  if (failed > 0) out << failed << " points failed (errors or checks): see the full table\n";
}

void write_json(const std::string& path, const Report& r) {
  using nlohmann::json;
  json points = json::array();
  for (const PointResult& p : r.points) {
    json j{{"shape", p.shape.name},
           {"variant", variant_name(p.kernel.variant)},
           {"format", p.kernel.format ? json(format_name(*p.kernel.format)) : json(nullptr)},
           {"element", element_name(p.kernel.element)},
           {"tokens", p.tokens},
           {"sku", p.sku},
           {"sets", p.sets},
           {"experts_touched", p.touched},
           {"bytes", p.bytes},
           {"flops", p.flops},
           {"floor_us", p.floor_us}};
    if (p.timed()) {
      j["median_us"] = p.median_us;
      j["min_us"] = p.min_us;
      j["mean_us"] = p.mean_us;
      j["alone_median_us"] = p.alone_us;
      if (p.warm_us > 0) j["warm_median_us"] = p.warm_us;
      j["enqueue_us"] = p.enqueue_us;
      j["gb_per_s"] = p.bytes / p.median_us / 1e3;
      j["tflop_per_s"] = p.flops / p.median_us / 1e6;
      j["floor_ratio"] = p.median_us / p.floor_us;
    }
    j["peer"] = p.peer ? json{{"name", p.peer->name},
                              {"us", p.peer->us},
                              {"ratio", p.timed() ? json(p.median_us / p.peer->us) : json(nullptr)}}
                       : json(nullptr);
    if (!p.check.empty()) j["check"] = p.check;
    if (!p.error.empty()) j["error"] = p.error;
    points.push_back(std::move(j));
  }
  json overheads = json::array();
  for (const HostOverhead& o : r.overheads)
    overheads.push_back(
        {{"sku", o.sku}, {"point", o.point}, {"select_us", o.select_us}, {"run_us", o.run_us}});
  const json doc{{"device", r.device},
                 {"date_utc", r.date},
                 {"command", r.command},
                 {"l2_bytes", r.l2_bytes},
                 {"back_to_back_batch", CallTimer::kBackToBackBatch},
                 {"iters", r.iters},
                 {"warmup", r.warmup},
                 {"peak_bytes_per_s", kPeakBytesPerSecond},
                 {"peak_flops_per_s", kPeakFlopsPerSecond},
                 {"select_seconds", r.select_seconds},
                 {"distinct_kernels", r.distinct_kernels},
                 {"host_overhead", overheads},
                 {"points", points}};
  std::ofstream f(path);
  f << doc.dump(1) << '\n';
  if (!f) throw std::runtime_error("cannot write " + path + ": check the directory exists");
}

}  // namespace moejit::gpubench
