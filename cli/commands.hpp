// The command table of the moejit CLI: each subcommand is a name, a one-line summary and a
// function that takes the arguments after its name and returns the exit status.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace moejit::cli {

using Args = std::vector<std::string>;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const Args& args);
};

// Every command, in the order `moejit --help` lists them.
std::span<const Command> commands();

// A command line that cannot be acted on (unknown command or option, missing or malformed
// value). main prints the message and the usage text and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  UsageError(const std::string& message, std::string usage)
      : std::runtime_error(message), usage_(std::move(usage)) {}
  const std::string& usage() const noexcept { return usage_; }

 private:
  std::string usage_;
};

// The top-level usage text: synopsis and the command list.
std::string program_usage();

int run_precompile(const Args& args);
int run_inspect(const Args& args);
int run_cache(const Args& args);
int run_verify(const Args& args);
int run_bench(const Args& args);
int run_tune(const Args& args);
int run_dequant(const Args& args);
int run_quantize(const Args& args);

}  // namespace moejit::cli
