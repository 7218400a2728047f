// `moejit dequant`: raw GGUF blocks in, little-endian f32 values out (ggml's dequantization).
#include <string>
#include <vector>

#include "cli/block_file_options.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "moejit/error.hpp"
#include "moejit/gguf.hpp"

namespace moejit::cli {

int run_dequant(const Args& args) {
  const BlockFileHelp help{
      "dequant",
      "Decodes a file of raw GGUF blocks (no GGUF header) into little-endian f32 values,\n"
      "bit-exact with ggml's dequantize_row_* for the format.",
      "file of raw blocks of FORMAT", "file of little-endian f32 values"};
  const auto options = parse_block_file_options(help, args);
  if (!options) return 0;

  const std::vector<std::uint8_t> blocks = read_file(options->input);
  const auto& layout = block_layout(options->format);
  const auto block_bytes = static_cast<std::size_t>(layout.block_bytes);
  if (blocks.size() % block_bytes != 0) {
    throw Error(ErrorCode::InvalidProblem,
                "input '" + options->input.string() + "' has " + std::to_string(blocks.size()) +
                    " bytes, not a whole number of " + std::string(layout.name) + " blocks of " +
                    std::to_string(block_bytes) + " bytes (" +
                    std::to_string(blocks.size() / block_bytes) + " blocks and " +
                    std::to_string(blocks.size() % block_bytes) +
                    " bytes left over); check --format and that the file holds only blocks");
  }
  const std::size_t n_blocks = blocks.size() / block_bytes;
  std::vector<float> values(n_blocks * static_cast<std::size_t>(layout.block_elems));
  dequantize(options->format, blocks, values);
  const std::vector<std::uint8_t> out = le_bytes_from_floats(values);
  write_file_atomically(options->output, out);
  if (options->json) {
    print_json_summary(help.command, *options, n_blocks, values.size(), blocks.size(), out.size());
  }
  return 0;
}

}  // namespace moejit::cli
