// The table of moejit subcommands and the top-level usage text built from it.
#include "cli/commands.hpp"

#include <algorithm>
#include <array>

namespace moejit::cli {
namespace {

constexpr std::array kCommands{
    Command{"precompile", "compile kernels into the cache ahead of time (no GPU needed)",
            run_precompile},
    Command{"inspect", "show a kernel's source, options, PTX, SASS, resources, log and cache key",
            run_inspect},
    Command{"cache", "list, count, verify, prune or clear the kernel cache", run_cache},
    Command{"verify", "run a kernel on the GPU and check it against the CPU reference", run_verify},
    Command{"bench", "time a kernel on the GPU (median us, GB/s, TFLOP/s)", run_bench},
    Command{"tune", "measure the best tile of each problem point on the GPU into a tile table",
            run_tune},
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
  text +=
      "\n"
      "Kernels are named by spec text, the kernel's cache key with every part after the\n"
      "variant optional:\n"
      "  VARIANT[:FORMAT][:ELEMENT][:ARCH][:BMxBNxBK][:wW][:sS][:n=N][:k=K]\n"
      "  e.g. wmma_gguf:q4_k:bf16:sm_90:64x64x64:w8:s3, wmma:bf16, scalar_gguf:q6_k\n"
      "\n"
      "Environment: MOEJIT_CACHE_DIR (the writable cache, default ~/.cache/moejit),\n"
      "MOEJIT_CACHE_READONLY_DIRS (precompiled layers searched first, colon-separated),\n"
      "MOEJIT_CACHE_MAX_BYTES, MOEJIT_NO_JIT, MOEJIT_ALWAYS_COMPILE, MOEJIT_DUMP_DIR,\n"
      "MOEJIT_LOG, MOEJIT_TEMPLATE_DIR, MOEJIT_TILE_TABLE, CUDA_HOME (see README.md).\n"
      "Exit status: 0 success, 1 failure (a failed kernel, a corrupt cache entry, no GPU for\n"
      "verify, bench or tune, bad data), 2 a command line that cannot be parsed.\n"
      "\n"
      "Run 'moejit <command> --help' for the options of a command.\n";
  return text;
}

}  // namespace moejit::cli
