// Parsing moejit_gpu_bench's command line.
#include "bench/gpu/options.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace moejit::gpubench {
namespace {

constexpr const char* kUsage =
    R"(moejit_gpu_bench: times every moejit kernel on the tracked MoE shapes with CUDA events.

Usage: moejit_gpu_bench [options]

  --shape qwen3|mixtral|all   shapes to run (default all; a comma list works too)
  --tokens 1,8,32,128,512     token counts (default those five, performance.md's points)
  --variant LIST              scalar_gguf, wmma_gguf, wmma (default all three)
  --format LIST               weight formats: q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k
                              (ScalarGguf and WmmaGguf), f16 bf16 (Wmma); default all
  --iters N                   calls timed per point each way (default 200), after N/10 (>= 5)
                              warm-up calls
  --check                     before timing, check each kernel at the first token count of each
                              shape against the CPU reference and its precision guarantee
  --markdown                  print markdown tables (for docs/benchmarks.md) instead of text
  --json FILE                 also write every result as JSON to FILE
  --summary FILE              also write the best-of-moejit against peer summary (text) to FILE
  --help                      this text

Per point: median µs per call of calls enqueued back to back (batches of 16 between a pair of CUDA
events, as llama.cpp and vLLM time their kernels), and "alone µs", the median of as many calls
each between its own pair of events; after warm-up, rotating between buffer sets when one set
would fit in L2, and for such points "warm µs" too, back to back on one set whose weights then
stay in L2 (as in the peers' runs), with a second standing against the peers (like for like);
GB/s and TFLOP/s; x floor = time / max(bytes / 3.0 TB/s, flops / 790 TFLOP/s) for that
kernel's bytes; x peer = time / the best peer time of shared/docs/performance.md.
Routing: top_k random distinct experts per token, drawn until the experts touched are the
expected count E * (1 - (1 - top_k / E)^T), rounded (the count the floors of performance.md
assume); no top-k weights. Needs a CUDA GPU (exit 1 without one); progress goes to stderr,
tables to stdout.
)";

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

ParseOutcome fail(const std::string& message) {
  return {std::nullopt, 2, "moejit_gpu_bench: " + message + " (see --help)\n"};
}

}  // namespace

std::string KernelConfig::weight_name() const {
  return format ? std::string(format_name(*format)) : std::string(element_name(element));
}

std::string KernelConfig::label() const {
  std::string s(variant_name(variant));
  if (format) {
    s += ' ';
    s += format_name(*format);
  }
  s += ' ';
  s += element_name(element);
  return s;
}

std::vector<KernelConfig> all_kernels() {
  std::vector<KernelConfig> out;
  for (GgufBlockFormat f : kWeightFormats) {
    out.push_back({MoeVariant::ScalarGguf, f, ElementKind::F32});
    out.push_back({MoeVariant::WmmaGguf, f, ElementKind::Bf16});
  }
  out.push_back({MoeVariant::Wmma, std::nullopt, ElementKind::F16});
  out.push_back({MoeVariant::Wmma, std::nullopt, ElementKind::Bf16});
  return out;
}

ParseOutcome parse_options(int argc, char** argv) {
  Options o;
  o.command_line = "moejit_gpu_bench";
  for (int i = 1; i < argc; ++i) o.command_line += std::string(" ") + argv[i];
  std::vector<std::string> shapes{"all"}, variants, formats;
  o.tokens.assign(kPeerTokens.begin(), kPeerTokens.end());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") return {std::nullopt, 0, kUsage};
    if (arg == "--check") {
      o.check = true;
    } else if (arg == "--markdown") {
      o.markdown = true;
    } else if (arg == "--shape" || arg == "--tokens" || arg == "--variant" || arg == "--format" ||
               arg == "--iters" || arg == "--json" || arg == "--summary") {
      const auto v = value();
      if (!v || v->empty()) return fail(std::string(arg) + " needs a value");
      if (arg == "--shape") {
        shapes = split_list(*v);
      } else if (arg == "--variant") {
        variants = split_list(*v);
      } else if (arg == "--format") {
        formats = split_list(*v);
      } else if (arg == "--json") {
        o.json_path = *v;
      } else if (arg == "--summary") {
        o.summary_path = *v;
      } else if (arg == "--iters") {
        const auto n = parse_int(*v);
        if (!n || *n < 1 || *n > 100000)
          return fail("--iters takes a whole number from 1 to 100000, not \"" + std::string(*v) +
                      "\"");
        o.iters = *n;
      } else {
        o.tokens.clear();
        for (const std::string& t : split_list(*v)) {
          const auto n = parse_int(t);
          if (!n || *n < 1 || *n > 65536)
            return fail("--tokens takes token counts from 1 to 65536, not \"" + t + "\"");
          if (std::find(o.tokens.begin(), o.tokens.end(), *n) == o.tokens.end())
            o.tokens.push_back(*n);
        }
        if (o.tokens.empty()) return fail("--tokens needs at least one token count");
      }
    } else {
      return fail("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  o.warmup = std::max(5, o.iters / 10);

  for (const std::string& s : shapes) {
    bool found = false;
    for (const Shape& shape : kShapes)
      if (s == "all" || s == shape.option || s == shape.name) {
        found = true;
        if (std::none_of(o.shapes.begin(), o.shapes.end(),
                         [&](const Shape& have) { return have.name == shape.name; }))
          o.shapes.push_back(shape);
      }
    if (!found) return fail("--shape takes qwen3, mixtral or all, not \"" + s + "\"");
  }
  std::vector<MoeVariant> wanted_variants;
  for (const std::string& v : variants) {
    const auto parsed = parse_variant(v);
    if (!parsed) return fail("--variant takes scalar_gguf, wmma_gguf or wmma, not \"" + v + "\"");
    wanted_variants.push_back(*parsed);
  }
  for (const std::string& f : formats) {
    const auto as_format = parse_format(f);
    const auto as_element = parse_element(f);
    if (!(as_format && block_layout(*as_format).weight_format) &&
        !(as_element && *as_element != ElementKind::F32))
      return fail("--format takes a GGUF weight format (q4_0 ... q6_k) or f16 / bf16, not \"" + f +
                  "\"");
  }
  for (const KernelConfig& k : all_kernels()) {
    const bool variant_ok = wanted_variants.empty() ||
                            std::find(wanted_variants.begin(), wanted_variants.end(), k.variant) !=
                                wanted_variants.end();
    const bool format_ok =
        formats.empty() || std::any_of(formats.begin(), formats.end(), [&](const std::string& f) {
          const auto as_format = parse_format(f);
          if (as_format) return k.format == *as_format;
          return !k.format && parse_element(f) == k.element;
        });
    if (variant_ok && format_ok) o.kernels.push_back(k);
  }
  if (o.kernels.empty()) return fail("no kernel matches the --variant and --format given");
  return {std::move(o), 0, {}};
}

}  // namespace moejit::gpubench
