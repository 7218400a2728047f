// `moejit quantize`: little-endian f32 values in, raw GGUF blocks out (ggml's reference
// quantizers, quantize_row_*_ref).
#include <string>
#include <vector>

#include "cli/block_file_options.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "moejit/error.hpp"
#include "moejit/gguf.hpp"

namespace moejit::cli {

int run_quantize(const Args& args) {
  const BlockFileHelp help{
      "quantize",
      "Encodes a file of little-endian f32 values into raw GGUF blocks (no GGUF header) with\n"
      "ggml's reference quantizer for the format (quantize_row_*_ref).",
      "file of little-endian f32 values, a whole number of blocks of FORMAT",
      "file of raw blocks of FORMAT"};
  const auto options = parse_block_file_options(help, args);
  if (!options) return 0;

  const std::vector<std::uint8_t> bytes = read_file(options->input);
  const std::string where = "input '" + options->input.string() + "'";
  if (bytes.size() % 4 != 0) {
    throw Error(ErrorCode::InvalidProblem, where + " has " + std::to_string(bytes.size()) +
                                               " bytes, not a whole number of 4-byte f32 values (" +
                                               std::to_string(bytes.size() % 4) +
                                               " bytes left over)");
  }
  const std::vector<float> values = floats_from_le_bytes(bytes);
  const auto& layout = block_layout(options->format);
  const auto block_elems = static_cast<std::size_t>(layout.block_elems);
  if (values.size() % block_elems != 0) {
    throw Error(ErrorCode::InvalidProblem,
                where + " holds " + std::to_string(values.size()) +
                    " f32 values, not a whole number of " + std::string(layout.name) +
                    " blocks of " + std::to_string(block_elems) + " values (" +
                    std::to_string(values.size() % block_elems) +
                    " left over); pad each row to a multiple of " + std::to_string(block_elems));
  }
  std::vector<std::uint8_t> blocks(gguf_bytes(options->format, values.size()));
  quantize(options->format, values, blocks);
  write_file_atomically(options->output, blocks);
  if (options->json) {
    print_json_summary(help.command, *options, values.size() / block_elems, values.size(),
                       bytes.size(), blocks.size());
  }
  return 0;
}

}  // namespace moejit::cli
