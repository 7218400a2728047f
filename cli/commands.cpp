// The table of moejit subcommands and the top-level usage text built from it.
#include "cli/commands.hpp"

#include <algorithm>
#include <array>

namespace moejit::cli {
namespace {

constexpr std::array kCommands{
    Command{"dequant", "decode raw GGUF blocks into little-endian f32 values", run_dequant},
    Command{"quantize", "encode little-endian f32 values into GGUF blocks (ggml's reference)",
            run_quantize},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

std::string program_usage() {
  std::size_t width = 0;
  for (const Command& c : kCommands) width = std::max(width, c.name.size());
  std::string text =
      "usage: moejit [--help] [--version] <command> [options]\n"
      "\n"
      "commands:\n";
  for (const Command& c : kCommands) {
    text += "  " + std::string(c.name) + std::string(width - c.name.size() + 2, ' ') +
            std::string(c.summary) + "\n";
  }
  text += "\nRun 'moejit <command> --help' for the options of a command.\n";
  return text;
}

}  // namespace moejit::cli
