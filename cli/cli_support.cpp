// Option parsing, usage text, spec parsing, knobs and formatting shared by the moejit commands.
#include "cli/cli_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <iostream>
#include <sstream>

#include "codegen/arch_limits.hpp"
#include "moejit/error.hpp"
#include "runtime/driver.hpp"

namespace moejit::cli {
namespace {

// Why the driver gave no device: the driver layer's reason without its advice to library
// callers (which follows the first "; ").
std::string no_device_reason(const Error& e) {
  const std::string message = error_text(e);
  return message.substr(0, message.find("; "));
}

std::string tile_dims_text(const Tile& t) {
  return std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk);
}

}  // namespace

std::string error_text(const Error& e) {
  const std::string what = e.what();
  const std::string prefix = std::string(error_code_name(e.code())) + ": ";
  return what.starts_with(prefix) ? what.substr(prefix.size()) : what;
}

std::string usage_text(const CommandHelp& help, const po::options_description& options) {
  std::ostringstream out;
  out << "usage: moejit " << help.synopsis << "\n\n" << help.description << "\n\n" << options;
  if (!help.epilog.empty()) out << "\n" << help.epilog;
  return out.str();
}

[[noreturn]] void usage_error(const CommandHelp& help, const po::options_description&,
                              const std::string& message) {
  throw UsageError(std::string(help.name) + ": " + message,
                   "usage: moejit " + help.synopsis + "\n\nRun 'moejit " + std::string(help.name) +
                       " --help' for every option.\n");
}

std::optional<po::variables_map> parse_command_line(const CommandHelp& help,
                                                    const po::options_description& options,
                                                    const Args& args,
                                                    std::string_view positional_name,
                                                    int max_positional) {
  po::variables_map vm;
  try {
    po::positional_options_description positional;
    if (!positional_name.empty())
      positional.add(std::string(positional_name).c_str(), max_positional);
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    usage_error(help, options,
                max_positional == 0
                    ? "takes no positional arguments"
                    : "takes at most " + std::to_string(max_positional) + " positional argument" +
                          (max_positional == 1 ? "" : "s"));
  } catch (const po::error& e) {
    usage_error(help, options, e.what());
  }
  if (vm.count("help")) {
    std::cout << usage_text(help, options);
    return std::nullopt;
  }
  return vm;
}

std::string spec_syntax_help() {
  return "Kernel spec syntax (the canonical key text of a kernel, every part after the first\n"
         "optional, in any order after the variant; case-insensitive):\n"
         "  VARIANT[:FORMAT][:ELEMENT][:ARCH][:BMxBNxBK][:wW][:sS][:rw][:n=N][:k=K]\n"
         "  VARIANT  scalar_gguf | wmma | wmma_gguf\n"
         "  FORMAT   q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k (GGUF variants only,\n"
         "           required there)\n"
         "  ELEMENT  f32 (scalar_gguf, the default there) | f16 (default) | bf16\n"
         "  ARCH     sm_80 sm_86 sm_87 sm_89 sm_90 sm_90a\n"
         "  BMxBNxBK the CTA tile, wW warps per CTA, sS pipeline stages\n"
         "  rw       wmma_gguf on sm_90a, q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q6_k: weights dequantized\n"
         "           into registers (BM entries per m-tile at most, BN weight rows, 16 per warp)\n"
         "  n=N k=K  sizes compiled into the kernel as constants\n"
         "Parts left out are filled in (the architecture and tile as each command says) and\n"
         "shown. Examples: wmma_gguf:q4_k:bf16:sm_90:64x64x64:w8:s3, wmma:bf16, scalar_gguf:q6_k\n";
}

SpecText parse_spec_text_or_usage(std::string_view command, std::string_view text) {
  try {
    return parse_spec_text(text);
  } catch (const Error& e) {
    throw UsageError(std::string(command) + ": " + error_text(e),
                     "Run 'moejit " + std::string(command) + " --help' for the spec syntax.\n");
  }
}

KernelSpec parse_kernel_spec_or_usage(std::string_view command, std::string_view text,
                                      const SpecDefaults& defaults) {
  try {
    return parse_kernel_spec(text, defaults);
  } catch (const Error& e) {
    throw UsageError(std::string(command) + ": " + error_text(e),
                     "Run 'moejit " + std::string(command) + " --help' for the spec syntax.\n");
  }
}

std::vector<std::string> filled_in_parts(const SpecText& written, const KernelSpec& spec) {
  std::vector<std::string> out;
  if (!written.element) out.push_back("element " + std::string(element_name(spec.element)));
  if (!written.arch) out.push_back("arch " + spec.arch.to_string());
  if (!written.tile) out.push_back("tile " + tile_dims_text(spec.tile));
  if (!written.warps) out.push_back("warps " + std::to_string(spec.tile.warps));
  if (!written.stages) out.push_back("stages " + std::to_string(spec.tile.stages));
  return out;
}

Knobs command_knobs(const po::variables_map& vm) {
  Knobs knobs = Knobs::from_environment();
  if (vm.count("cache-dir")) knobs.cache_dir = vm["cache-dir"].as<std::string>();
  return knobs;
}

std::optional<GpuArch> detect_device_arch(std::string* why) {
  try {
    driver::api();
    if (driver::device_count() == 0) {
      *why = "the CUDA driver reports no device (check CUDA_VISIBLE_DEVICES)";
      return std::nullopt;
    }
    const GpuArch arch = driver::device_arch(0);
    if (std::find(std::begin(kSupportedSm), std::end(kSupportedSm), arch.sm) ==
        std::end(kSupportedSm)) {
      *why = "device 0 (" + driver::device_name(0) + ") is " + arch.to_string() +
             ", which moejit does not generate code for";
      return std::nullopt;
    }
    return arch;
  } catch (const Error& e) {
    *why = no_device_reason(e);
    return std::nullopt;
  }
}

void require_device(std::string_view command) {
  std::string why;
  try {
    driver::api();
    if (driver::device_count() > 0) return;
    why = "the CUDA driver reports no device (check CUDA_VISIBLE_DEVICES)";
  } catch (const Error& e) {
    why = no_device_reason(e);
  }
  throw Error(ErrorCode::NoDevice,
              "no CUDA device: `moejit " + std::string(command) +
                  "` runs kernels and needs a CUDA GPU with the NVIDIA driver (" + why +
                  "). Run it on a GPU machine; precompile (with --arch), inspect and cache need "
                  "no GPU");
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string item(text.substr(start, end - start));
    item.erase(std::remove_if(item.begin(), item.end(),
                              [](unsigned char c) { return std::isspace(c) != 0; }),
               item.end());
    for (char& c : item) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  std::ostringstream out;
  out.precision(value < 10 ? 2 : (value < 100 ? 1 : 0));
  out << std::fixed << value << " " << kUnits[unit];
  return out.str();
}

std::string human_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  std::ostringstream out;
  if (seconds < 60) {
    out.precision(seconds < 10 ? 2 : 1);
    out << std::fixed << seconds << " s";
    return out.str();
  }
  const auto whole = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (whole < 3600)
    std::snprintf(buf, sizeof buf, "%lld m %02lld s", whole / 60, whole % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld h %02lld m", whole / 3600, (whole % 3600) / 60);
  return buf;
}

std::string local_time(std::int64_t ns_since_epoch) {
  const std::time_t t = static_cast<std::time_t>(ns_since_epoch / 1000000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace moejit::cli
