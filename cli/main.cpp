// The moejit command: dispatches to a subcommand and turns every failure into a message on
// stderr and an exit status (2 for usage errors, 1 for everything else).
#include <iostream>
#include <string>
#include <string_view>

#include "cli/commands.hpp"
#include "moejit/error.hpp"
#include "moejit/version.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int dispatch(int argc, char** argv) {
  using moejit::cli::UsageError;
  if (argc < 2) throw UsageError("no command given", moejit::cli::program_usage());
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    std::cout << moejit::cli::program_usage();
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "moejit " << moejit::version() << "\n";
    return 0;
  }
  for (const auto& command : moejit::cli::commands()) {
    if (command.name == first) return command.run(moejit::cli::Args(argv + 2, argv + argc));
  }
  const std::string what = first.starts_with("-") ? "unknown option '" : "unknown command '";
  throw UsageError(what + std::string(first) + "'", moejit::cli::program_usage());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const moejit::cli::UsageError& e) {
    std::cerr << "moejit: error: " << e.what() << "\n\n" << e.usage();
    return kExitUsage;
  } catch (const moejit::Error& e) {
    // Every library error (bad data, unreadable or unwritable files, ...) is a failure, status 1.
    std::cerr << "moejit: error: " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "moejit: error: " << e.what() << "\n";
    return kExitFailure;
  }
}
