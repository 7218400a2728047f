// Boost.Program_options parsing of the block-file commands' options, their help text, and the
// JSON summary line.
#include "cli/block_file_options.hpp"

#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace moejit::cli {
namespace po = boost::program_options;
namespace {

std::string format_names() {
  std::string names;
  for (const auto& layout : kBlockLayouts) {
    if (!names.empty()) names += ' ';
    names += layout.name;
  }
  return names;
}

po::options_description describe(const BlockFileHelp& help, const std::string& formats) {
  po::options_description desc("options");
  desc.add_options()                                                                     //
      ("format,f", po::value<std::string>()->value_name("FORMAT"),                       //
       ("GGUF block format, as ggml spells it (case-insensitive): " + formats).c_str())  //
      ("input,i", po::value<std::string>()->value_name("PATH"), std::string(help.input).c_str())(
          "output,o", po::value<std::string>()->value_name("PATH"),
          (std::string(help.output) + "; written to a temp file and renamed, so it never exists "
                                      "half-written")
              .c_str())                                    //
      ("json", "print a one-line JSON summary on stdout")  //
      ("help,h", "show this help");
  return desc;
}

std::string usage_text(const BlockFileHelp& help, const po::options_description& desc) {
  std::ostringstream out;
  out << "usage: moejit " << help.command
      << " --format FORMAT --input PATH --output PATH [--json]\n"
      << "\n"
      << help.description << "\n"
      << "\n"
      << desc;
  return out.str();
}

const std::string& required(const po::variables_map& vm, const char* name,
                            const BlockFileHelp& help, const std::string& usage) {
  if (!vm.count(name)) {
    throw UsageError(std::string(help.command) + ": missing required option --" + name, usage);
  }
  return vm[name].as<std::string>();
}

}  // namespace

std::optional<BlockFileOptions> parse_block_file_options(const BlockFileHelp& help,
                                                         const Args& args) {
  const std::string formats = format_names();
  const po::options_description desc = describe(help, formats);
  const std::string usage = usage_text(help, desc);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(help.command) + ": " + e.what(), usage);
  }
  if (vm.count("help")) {
    std::cout << usage;
    return std::nullopt;
  }
  BlockFileOptions options{};
  const std::string& name = required(vm, "format", help, usage);
  const auto format = parse_format(name);
  if (!format) {
    throw UsageError(std::string(help.command) + ": unknown format '" + name +
                         "'; the GGUF block formats are: " + formats,
                     usage);
  }
  options.format = *format;
  options.input = required(vm, "input", help, usage);
  options.output = required(vm, "output", help, usage);
  options.json = vm.count("json") > 0;
  return options;
}

void print_json_summary(std::string_view command, const BlockFileOptions& options,
                        std::size_t blocks, std::size_t elements, std::size_t bytes_in,
                        std::size_t bytes_out) {
  const nlohmann::json summary = {
      {"command", command},
      {"format", format_name(options.format)},
      {"blocks", blocks},
      {"elements", elements},
      {"input", options.input.string()},
      {"output", options.output.string()},
      {"bytes_in", bytes_in},
      {"bytes_out", bytes_out},
  };
  std::cout << summary.dump() << "\n";
}

}  // namespace moejit::cli
