// `moejit cache ls|stats|verify|prune|clear`: the on-disk kernel cache (the writable cache and
// the read-only layers) listed, counted, verified, pruned to a byte budget, or cleared.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cache/artifact_store.hpp"
#include "cli/cli_support.hpp"
#include "cli/commands.hpp"

namespace moejit::cli {
namespace {

constexpr const char* kActions[] = {"ls", "stats", "verify", "prune", "clear"};

CommandHelp cache_help() {
  return {"cache", "cache ls|stats|verify|prune|clear [--cache-dir DIR] [--max-bytes N] [--json]",
          "Maintains the kernel cache: the writable cache (--cache-dir, else MOEJIT_CACHE_DIR,\n"
          "else ~/.cache/moejit) and the read-only layers of MOEJIT_CACHE_READONLY_DIRS, which\n"
          "are listed, counted and verified but never changed.\n"
          "  ls      every entry: digest, size, last use, layer and kernel key\n"
          "  stats   entries, bytes, quarantined and temporary data per cache root, and totals\n"
          "  verify  reads every entry and checks it against its checksummed manifest; corrupt\n"
          "          entries of the writable cache are moved to its quarantine; exit status 1\n"
          "          when any entry is corrupt\n"
          "  prune   removes the quarantine, then least recently used entries, until the\n"
          "          writable cache takes at most --max-bytes\n"
          "  clear   removes every entry of the writable cache",
          "Examples:\n"
          "  moejit cache ls\n"
          "  moejit cache verify --cache-dir /opt/moejit-cache\n"
          "  moejit cache prune --max-bytes 2G\n"
          "  moejit cache stats --json\n"};
}

po::options_description cache_options() {
  po::options_description desc("options");
  desc.add_options()  //
      ("action", po::value<std::string>()->value_name("ACTION"),
       "ls, stats, verify, prune or clear (positional)")  //
      ("cache-dir", po::value<std::string>()->value_name("DIR"),
       "the writable cache (default: MOEJIT_CACHE_DIR, else ~/.cache/moejit)")  //
      ("max-bytes", po::value<std::string>()->value_name("N"),
       "prune: the byte budget, e.g. 500M or 2G (powers of 1024; default "
       "MOEJIT_CACHE_MAX_BYTES)")                     //
      ("json", "print the result as JSON on stdout")  //
      ("help,h", "show this help");
  return desc;
}

std::string layer_name(int layer) {
  return layer < 0 ? "writable" : "read-only " + std::to_string(layer);
}

int cache_ls(ArtifactStore& store, bool json) {
  std::vector<EntryInfo> entries = store.list();
  std::stable_sort(entries.begin(), entries.end(), [](const EntryInfo& a, const EntryInfo& b) {
    return a.last_use_ns > b.last_use_ns;
  });
  std::uint64_t total = 0;
  for (const auto& e : entries) total += e.bytes;
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : entries) {
      nlohmann::json item = {{"digest", e.digest},
                             {"key", e.key_text},
                             {"arch", e.arch},
                             {"bytes", e.bytes},
                             {"last_use_ns", e.last_use_ns},
                             {"last_use", local_time(e.last_use_ns)},
                             {"root", e.root.string()},
                             {"layer", layer_name(e.layer)}};
      if (!e.problem.empty()) item["problem"] = e.problem;
      list.push_back(item);
    }
    std::cout << nlohmann::json{{"command", "cache ls"},
                                {"cache_dir", store.cache_dir().string()},
                                {"entries", list},
                                {"total_bytes", total}}
                     .dump(2)
              << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "no entries in '" << store.cache_dir().string() << "'\n";
    return 0;
  }
  std::cout << "DIGEST        SIZE        LAST USE             LAYER        KEY\n";
  for (const auto& e : entries) {
    std::string size = human_bytes(e.bytes);
    size.resize(std::max<std::size_t>(size.size(), 10), ' ');
    std::string layer = layer_name(e.layer);
    layer.resize(std::max<std::size_t>(layer.size(), 11), ' ');
    std::cout << e.digest.substr(0, 12) << "  " << size << "  " << local_time(e.last_use_ns) << "  "
              << layer << "  " << (e.problem.empty() ? e.key_text : "(invalid: " + e.problem + ")")
              << "\n";
  }
  std::cout << entries.size() << " entries, " << human_bytes(total) << " (writable cache '"
            << store.cache_dir().string() << "')\n";
  return 0;
}

int cache_stats(ArtifactStore& store, bool json) {
  const StoreStats stats = store.stats();
  std::uint64_t entries = 0, bytes = 0, quarantined = 0;
  for (const auto& l : stats.layers) {
    entries += l.entries;
    bytes += l.entry_bytes;
    quarantined += l.quarantined;
  }
  if (json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : stats.layers)
      layers.push_back({{"root", l.root.string()},
                        {"layer", layer_name(l.layer)},
                        {"writable", l.writable},
                        {"entries", l.entries},
                        {"entry_bytes", l.entry_bytes},
                        {"quarantined", l.quarantined},
                        {"quarantine_bytes", l.quarantine_bytes},
                        {"temp_bytes", l.temp_bytes}});
    std::cout << nlohmann::json{{"command", "cache stats"},
                                {"layers", layers},
                                {"writable_usable", !stats.memory_only},
                                {"total_entries", entries},
                                {"total_bytes", bytes},
                                {"total_quarantined", quarantined}}
                     .dump(2)
              << "\n";
    return 0;
  }
  for (const auto& l : stats.layers) {
    std::cout << (l.layer < 0 ? "writable cache  " : "read-only layer ") << l.root.string() << "\n"
              << "  entries      " << l.entries << " (" << human_bytes(l.entry_bytes) << ")\n"
              << "  quarantined  " << l.quarantined << " (" << human_bytes(l.quarantine_bytes)
              << ")\n"
              << "  temporary    " << human_bytes(l.temp_bytes) << "\n";
  }
  if (stats.memory_only)
    std::cout << "the writable cache cannot be used (see the warning above): kernels would be "
                 "kept in memory only\n";
  std::cout << "total: " << entries << " entries, " << human_bytes(bytes) << ", " << quarantined
            << " quarantined\n";
  return 0;
}

int cache_verify(ArtifactStore& store, bool json) {
  const std::size_t checked = store.list().size();
  const std::vector<CorruptEntry> corrupt = store.verify();
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : corrupt)
      list.push_back({{"path", c.path.string()},
                      {"digest", c.digest},
                      {"layer", layer_name(c.layer)},
                      {"reason", c.reason},
                      {"quarantined", c.quarantined}});
    std::cout << nlohmann::json{{"command", "cache verify"},
                                {"cache_dir", store.cache_dir().string()},
                                {"checked", checked},
                                {"corrupt", list}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "verified " << checked << " entries: " << corrupt.size() << " corrupt\n";
    for (const auto& c : corrupt) {
      std::cout << "corrupt  " << c.path.string() << "\n  " << c.reason << "\n  "
                << (c.quarantined ? "moved to the quarantine; it is recompiled on next use"
                    : c.layer >= 0
                        ? "left in place (read-only layer): rebuild that layer with moejit "
                          "precompile"
                        : "could not be moved aside")
                << "\n";
    }
  }
  return corrupt.empty() ? 0 : 1;
}

void print_prune(const char* action, const PruneResult& r, const ArtifactStore& store, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"command", std::string("cache ") + action},
                                {"cache_dir", store.cache_dir().string()},
                                {"removed_entries", r.removed_entries},
                                {"freed_bytes", r.freed_bytes},
                                {"remaining_bytes", r.remaining_bytes}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << action << ": removed " << r.removed_entries << " entries, freed "
            << human_bytes(r.freed_bytes) << "; " << human_bytes(r.remaining_bytes)
            << " remain in '" << store.cache_dir().string() << "'\n";
}

}  // namespace

int run_cache(const Args& args) {
  const CommandHelp help = cache_help();
  const po::options_description desc = cache_options();
  const auto parsed = parse_command_line(help, desc, args, "action", 1);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  if (!vm.count("action"))
    usage_error(help, desc, "missing the action: ls, stats, verify, prune or clear");
  const std::string action = vm["action"].as<std::string>();
  if (std::find(std::begin(kActions), std::end(kActions), action) == std::end(kActions))
    usage_error(help, desc,
                "unknown action '" + action + "'; allowed: ls, stats, verify, prune, clear");
  if (vm.count("max-bytes") && action != "prune")
    usage_error(help, desc, "--max-bytes belongs to prune");

  const Knobs knobs = command_knobs(vm);
  ArtifactStore store(knobs);
  const bool json = vm.count("json") > 0;
  if (action == "ls") return cache_ls(store, json);
  if (action == "stats") return cache_stats(store, json);
  if (action == "verify") return cache_verify(store, json);
  if (action == "prune") {
    std::optional<std::uint64_t> budget = knobs.cache_max_bytes;
    if (vm.count("max-bytes")) {
      budget = parse_byte_count(vm["max-bytes"].as<std::string>());
      if (!budget)
        usage_error(help, desc,
                    "--max-bytes: '" + vm["max-bytes"].as<std::string>() +
                        "' is not a byte count (e.g. 1073741824, 500M, 2G)");
    }
    if (!budget) usage_error(help, desc, "prune needs --max-bytes (or MOEJIT_CACHE_MAX_BYTES)");
    print_prune("prune", store.prune(*budget), store, json);
    return 0;
  }
  print_prune("clear", store.clear(), store, json);
  return 0;
}

}  // namespace moejit::cli
