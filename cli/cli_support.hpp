// What the moejit subcommands share: option parsing with Boost.Program_options and usage text,
// the kernel spec syntax (parsed through codegen/spec_syntax, errors as usage errors), the knobs
// with a --cache-dir override, the GPU architecture of this machine, and number formatting.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/knobs.hpp"
#include "cli/commands.hpp"
#include "codegen/kernel_spec.hpp"
#include "codegen/spec_syntax.hpp"
#include "moejit/error.hpp"

namespace moejit::cli {

namespace po = boost::program_options;

// What a command says about itself: `usage: moejit <synopsis>`, a description after it, the
// options, and an epilog (formats, examples) after those.
struct CommandHelp {
  std::string_view name;    // "inspect"
  std::string synopsis;     // "inspect SPEC [--what PARTS] [--json]"
  std::string description;  // a few sentences
  std::string epilog;       // may be empty
};

std::string usage_text(const CommandHelp& help, const po::options_description& options);

// Parses args against `options` (which must include --help). Positional arguments go to the
// option named `positional_name` (at most `max_positional` of them; none when the name is
// empty). Returns nullopt after printing the usage on stdout when --help is given. Throws
// UsageError "<command>: <what is wrong>" with the usage for unknown, repeated or malformed
// options and for too many positional arguments.
std::optional<po::variables_map> parse_command_line(const CommandHelp& help,
                                                    const po::options_description& options,
                                                    const Args& args,
                                                    std::string_view positional_name = {},
                                                    int max_positional = 0);

// Throws UsageError "<command>: <message>" with the command's synopsis and a pointer to its
// --help (the full help of some commands is long).
[[noreturn]] void usage_error(const CommandHelp& help, const po::options_description& options,
                              const std::string& message);

// The spec syntax, for the help texts of the commands that take a SPEC.
std::string spec_syntax_help();

// A spec text parsed with parse_spec_text / parse_kernel_spec. A malformed spec becomes a
// UsageError whose message quotes the text, marks the bad part and lists what is allowed, and
// whose usage line points at `moejit <command> --help`.
SpecText parse_spec_text_or_usage(std::string_view command, std::string_view text);
KernelSpec parse_kernel_spec_or_usage(std::string_view command, std::string_view text,
                                      const SpecDefaults& defaults);

// The parts of `spec` that `written` left out, as shown to the user: "element f16",
// "arch sm_90", "tile 64x64x32", "warps 4", "stages 3".
std::vector<std::string> filled_in_parts(const SpecText& written, const KernelSpec& spec);

// The message of a moejit::Error without its "Code: " prefix (for messages that quote it).
std::string error_text(const Error& e);

// Knobs::from_environment(), with cache_dir replaced by --cache-dir when the option is set.
Knobs command_knobs(const po::variables_map& vm);

// The architecture of CUDA device 0 through the lazily loaded driver, or nullopt with the reason
// in *why (no driver, no device, an architecture moejit does not generate code for).
std::optional<GpuArch> detect_device_arch(std::string* why);

// Throws Error(NoDevice) "<command> runs kernels and needs a CUDA GPU: <reason>" unless a driver
// and a device are present.
void require_device(std::string_view command);

// Splits "a,b, c" into {"a", "b", "c"} (empty items dropped), each lower-cased.
std::vector<std::string> split_list(std::string_view text);

// "1.5 MiB", "812 B".
std::string human_bytes(std::uint64_t bytes);
// "0.84 s", "1 m 12 s", "2 h 03 m".
std::string human_seconds(double seconds);
// A local time stamp "2026-11-23 01:02:03" from nanoseconds since the epoch.
std::string local_time(std::int64_t ns_since_epoch);

}  // namespace moejit::cli
