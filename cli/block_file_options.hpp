// Options shared by the commands that turn one file into another block by block (dequant,
// quantize): --format, --input, --output, --json, --help; and their one-line JSON summary.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>

#include "cli/commands.hpp"
#include "moejit/types.hpp"

namespace moejit::cli {

struct BlockFileOptions {
  GgufBlockFormat format;
  std::filesystem::path input;
  std::filesystem::path output;
  bool json = false;
};

// What a command says about itself in its --help text.
struct BlockFileHelp {
  std::string_view command;      // "dequant"
  std::string_view description;  // one or two sentences
  std::string_view input;        // help for --input
  std::string_view output;       // help for --output
};

// Parses args. Returns nullopt after printing the help text when --help is given. Throws
// UsageError for unknown or repeated options, positional arguments, a missing required option,
// or a format name that is not a GGUF block format (the message lists the valid names).
std::optional<BlockFileOptions> parse_block_file_options(const BlockFileHelp& help,
                                                         const Args& args);

// Prints {"command", "format", "blocks", "elements", "input", "output", "bytes_in",
// "bytes_out"} as one line of JSON on stdout.
void print_json_summary(std::string_view command, const BlockFileOptions& options,
                        std::size_t blocks, std::size_t elements, std::size_t bytes_in,
                        std::size_t bytes_out);

}  // namespace moejit::cli
