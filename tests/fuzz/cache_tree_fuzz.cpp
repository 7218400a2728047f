// A whole on-disk cache root (cache/disk_cache) after vandalism: entries are published, then the
// tree is changed the way crashes, full disks, other tools and people change it (files where
// folders belong and back, entries removed, renamed onto other digests or replaced by symbolic
// links, stamps rewritten, stray temporary folders), and every operation moejit runs on a cache
// is applied. Properties:
//   - load and publish never throw; an entry loaded as Ok holds exactly what was published;
//   - listing, statistics, verification, pruning, clearing and clean-up never throw either,
//     and after verify every entry listed as valid loads;
//   - pruning leaves no more than its budget;
//   - nothing outside the cache root is written or removed through a symbolic link that stands
//     for an entry, an entry's file, a lock or a temporary folder (links point at a decoy file
//     and folder that must stay as they were). The root's own folders (v1, tmp, quarantine,
//     locks, the shards) may be links on purpose, to keep a cache on another disk, and are
//     followed.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/disk_cache.hpp"
#include "tests/fuzz/fuzz_cache.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using namespace moejit::fuzz;
namespace fs = std::filesystem;

namespace {

const std::string kDecoyText = "decoy: the cache must never write here\n";

// The places vandalism aims at: the layout's own folders and files, and new names among them.
std::vector<fs::path> targets(const DiskCache& cache, const std::vector<Artifact>& written) {
  const fs::path v = cache.version_dir();
  std::vector<fs::path> out{v,
                            v / "tmp",
                            v / "quarantine",
                            v / "locks",
                            v / "ab",
                            v / "tmp" / "new.0123456789abcdef.x",
                            v / "tmp" / "old.x"};
  for (const Artifact& a : written) {
    const fs::path e = cache.entry_dir(a.digest);
    out.push_back(e);
    out.push_back(e.parent_path());
    for (const char* f :
         {kManifestFile, kKeyFile, kSourceFile, kLogFile, kPtxFile, kCubinFile, kStampFile})
      out.push_back(e / f);
    out.push_back(v / "locks" / (a.digest + ".lock"));
  }
  return out;
}

void vandalize(FuzzInput& in, const DiskCache& cache, const std::vector<Artifact>& written) {
  const fs::path decoy = scratch_root() / "decoy";
  const std::vector<fs::path> places = targets(cache, written);
  for (int ops = in.byte() % 6; ops > 0; --ops) {
    const fs::path p = places[in.index(places.size())];
    std::error_code ec;
    const std::uint8_t op = in.byte() % 8;
    // The vandal works inside the cache: not through an entry already replaced by a link.
    if (fs::is_symlink(fs::symlink_status(p.parent_path(), ec))) continue;
    switch (op) {
      case 0:  // a file with any content
        put_file(p, in.text(64));
        break;
      case 1:  // a folder
        fs::remove_all(p, ec);
        fs::create_directories(p, ec);
        break;
      case 2:
        fs::remove_all(p, ec);
        break;
      case 3:  // a symbolic link out of the cache, in place of an entry or one of its files
        // (the root's own folders may be links: a user may keep the cache on another disk)
        if (p.parent_path() == cache.version_dir() || p == cache.version_dir()) break;
        fs::remove_all(p, ec);
        fs::create_symlink(in.boolean() ? decoy / "file" : decoy / "dir", p, ec);
        break;
      case 4: {  // an entry renamed onto another digest's place
        const Artifact& a = written[in.index(written.size())];
        const Artifact& b = written[in.index(written.size())];
        fs::remove_all(cache.entry_dir(b.digest), ec);
        fs::rename(cache.entry_dir(a.digest), cache.entry_dir(b.digest), ec);
        break;
      }
      case 5: {  // a stamp that is not one
        const fs::path entry = cache.entry_dir(written[in.index(written.size())].digest);
        const std::string text = in.text(24);
        if (!fs::is_symlink(fs::symlink_status(entry, ec))) put_file(entry / kStampFile, text);
        break;
      }
      case 6: {  // one byte of a file changed
        std::string text = file_text(p);
        if (!text.empty()) {
          text[in.index(text.size())] ^= static_cast<char>(in.byte() | 1);
          put_file(p, text);
        }
        break;
      }
      default:  // a file cut short
        if (fs::is_regular_file(fs::symlink_status(p, ec)))
          fs::resize_file(p, in.index(static_cast<std::size_t>(fs::file_size(p, ec)) + 1), ec);
        break;
    }
  }
}

// The tree under `root`, one line per path with its type, for failure messages.
std::string describe_tree(const fs::path& root) {
  std::string out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    out += "\n    " + fs::relative(it->path(), root, ec).string() +
           (fs::is_symlink(st)     ? " -> link"
            : fs::is_directory(st) ? "/"
                                   : "");
  }
  return out;
}

void check_loads(const DiskCache& cache, const std::vector<Artifact>& written, bool payloads) {
  for (const Artifact& a : written) {
    const EntryRead r = cache.load(a.digest, payloads);
    if (r.status == EntryStatus::Ok && !same_artifact(r.artifact, a, payloads))
      fail("an entry loaded as Ok holds exactly what was published", a.digest);
    if (r.status == EntryStatus::Ok) cache.touch(a.digest);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const fs::path root = scratch_root() / "cache";
  const fs::path decoy = scratch_root() / "decoy";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::remove_all(decoy, ec);
  fs::create_directories(decoy / "dir");
  put_file(decoy / "file", kDecoyText);
  put_file(decoy / "dir" / "kept", kDecoyText);

  DiskCache::Options options;
  options.sync = false;
  options.stale_temp_age = std::chrono::milliseconds(in.boolean() ? 0 : 600000);
  const DiskCache cache(root, options);
  if (const std::string why = cache.prepare(); !why.empty()) fail("a fresh root prepares", why);
  std::vector<Artifact> written;
  for (int i = 0, n = 1 + in.byte() % 3; i < n; ++i) {
    Artifact a = artifact_from(in, std::to_string(i));
    const PublishResult r = cache.publish(a);
    if (r.status == PublishStatus::Failed) {
      if (r.problem.find("cannot encode the manifest") == std::string::npos)
        fail("a fresh root takes a publication", r.problem);
      continue;
    }
    written.push_back(std::move(a));
  }
  if (written.empty()) return 0;

  vandalize(in, cache, written);
  try {
    check_loads(cache, written, in.boolean());
    cache.list();
    cache.stats();
    cache.verify();
    for (const EntryInfo& e : cache.list())
      if (e.problem.empty() && cache.load(e.digest).status != EntryStatus::Ok)
        fail("after verify, an entry listed as valid loads",
             e.digest + ": " + cache.load(e.digest).problem);
    const std::uint64_t budget = in.byte() < 128 ? 0 : in.raw<std::uint16_t>();
    const PruneResult pruned = cache.prune(budget);
    if (pruned.remaining_bytes > budget)
      fail("pruning leaves no more than the budget", std::to_string(pruned.remaining_bytes) +
                                                         " > " + std::to_string(budget) +
                                                         describe_tree(root));
    cache.clean_stale_temp();
    const PublishResult again = cache.publish(written[in.index(written.size())]);
    if (again.status == PublishStatus::Failed && again.problem.empty())
      fail("a failed publication says why", "empty problem");
    check_loads(cache, written, true);
    if (in.boolean()) cache.clear();
  } catch (const std::exception& e) {
    fail("cache operations never throw", e.what());
  }
  std::string touched;
  if (file_text(decoy / "file") != kDecoyText)
    touched = "decoy/file holds \"" + file_text(decoy / "file") + "\"";
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(decoy / "dir", ec))
    names.push_back(e.path().filename().string());
  if (names != std::vector<std::string>{"kept"} || file_text(decoy / "dir" / "kept") != kDecoyText)
    touched += " decoy/dir holds " + std::to_string(names.size()) + " names, first \"" +
               (names.empty() ? "" : names[0]) + "\"";
  if (!touched.empty()) fail("nothing outside the cache root is written or removed", touched);
  return 0;
}
