// DiskCache maintenance: listing, statistics, verification, LRU pruning, clearing, and removal
// of temporary directories left by killed publishers.
#include <algorithm>
#include <charconv>
#include <system_error>

#include "cache/disk_cache.hpp"
#include "cache/sha256.hpp"

namespace moejit {

namespace fs = std::filesystem;

namespace {

bool is_hex_pair(const std::string& s) {
  return s.size() == 2 && is_sha256_hex(s + std::string(62, '0'));
}

std::int64_t last_use_of(const fs::path& dir) {
  if (auto text = cachefs::read_small_file(dir / kStampFile)) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec == std::errc() && p == text->data() + text->size() && v > 0) return v;
  }
  return cachefs::mtime_ns(dir / kManifestFile).value_or(0);
}

std::vector<fs::path> children(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path());
  return out;
}

}  // namespace

std::vector<DiskCache::Scanned> DiskCache::scan() const {
  std::vector<Scanned> out;
  for (const fs::path& shard : children(version_dir_)) {
    const std::string prefix = shard.filename().string();
    if (!is_hex_pair(prefix)) continue;
    for (const fs::path& dir : children(shard)) {
      std::string digest = dir.filename().string();
      std::error_code ec;
      if (!is_sha256_hex(digest) || !digest.starts_with(prefix) || !fs::is_directory(dir, ec))
        continue;
      // An entry that is a symbolic link is not moejit's (verify removes it): its size is not
      // counted, so that a link to a large tree costs no walk of that tree.
      const bool link = fs::is_symlink(fs::symlink_status(dir, ec));
      out.push_back(Scanned{digest, dir, link ? 0 : cachefs::tree_bytes(dir), last_use_of(dir)});
    }
  }
  return out;
}

bool DiskCache::remove_entry_dir(const fs::path& dir) const {
  layout_dir(version_dir_ / "tmp");
  const fs::path trash = version_dir_ / "tmp" / ("old." + cachefs::unique_token());
  if (::rename(dir.c_str(), trash.c_str()) != 0) return false;
  cachefs::remove_tree(trash);
  return true;
}

std::vector<EntryInfo> DiskCache::list() const {
  std::vector<EntryInfo> out;
  for (const Scanned& s : scan()) {
    EntryRead r = read_entry(s.dir, s.digest, /*payloads=*/false);
    if (r.status == EntryStatus::Missing || r.status == EntryStatus::Vanished) continue;
    EntryInfo info;
    info.digest = s.digest;
    info.bytes = s.bytes;
    info.last_use_ns = s.last_use_ns;
    info.root = root_;
    info.layer = options_.layer;
    if (r.status == EntryStatus::Ok) {
      info.key_text = r.artifact.key_text;
      info.arch = r.artifact.arch;
    } else {
      info.problem = r.problem;
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const EntryInfo& a, const EntryInfo& b) { return a.digest < b.digest; });
  return out;
}

LayerStats DiskCache::stats() const {
  LayerStats st;
  st.root = root_;
  st.layer = options_.layer;
  st.writable = options_.writable;
  for (const Scanned& s : scan()) {
    ++st.entries;
    st.entry_bytes += s.bytes;
  }
  st.quarantined = children(version_dir_ / "quarantine").size();
  st.quarantine_bytes = cachefs::tree_bytes(version_dir_ / "quarantine");
  st.temp_bytes = cachefs::tree_bytes(version_dir_ / "tmp");
  return st;
}

std::vector<CorruptEntry> DiskCache::verify() const {
  std::vector<CorruptEntry> out;
  for (const Scanned& s : scan()) {
    EntryRead r = read_entry(s.dir, s.digest, /*payloads=*/true);
    if (r.status != EntryStatus::Corrupt) continue;
    bool moved = options_.writable && quarantine(s.digest, r.problem, r.identity);
    out.push_back(CorruptEntry{s.dir, s.digest, options_.layer, r.problem, moved});
  }
  return out;
}

PruneResult DiskCache::prune(std::uint64_t budget, const std::string& keep_digest) const {
  PruneResult res;
  std::vector<Scanned> entries = scan();
  std::uint64_t total = 0;
  for (const Scanned& s : entries) total += s.bytes;
  const fs::path qdir = version_dir_ / "quarantine";
  std::uint64_t quarantine_bytes = cachefs::tree_bytes(qdir);
  total += quarantine_bytes;
  if (!options_.writable || total <= budget) {
    res.remaining_bytes = total;
    return res;
  }
  // Quarantined entries are kept only for diagnosis: they go first.
  for (const fs::path& q : children(qdir)) cachefs::remove_tree(q);
  std::uint64_t left = cachefs::tree_bytes(qdir);
  res.freed_bytes += quarantine_bytes - std::min(quarantine_bytes, left);
  total = total - quarantine_bytes + left;

  std::sort(entries.begin(), entries.end(), [](const Scanned& a, const Scanned& b) {
    return a.last_use_ns != b.last_use_ns ? a.last_use_ns < b.last_use_ns : a.digest < b.digest;
  });
  for (const Scanned& s : entries) {
    if (total <= budget) break;
    if (s.digest == keep_digest) continue;
    if (!remove_entry_dir(s.dir)) continue;  // someone else removed it meanwhile
    total -= s.bytes;
    res.freed_bytes += s.bytes;
    ++res.removed_entries;
  }
  res.remaining_bytes = total;
  return res;
}

PruneResult DiskCache::clear() const {
  PruneResult res;
  if (!options_.writable) return res;
  res.removed_entries = scan().size();
  for (const fs::path& child : children(root_)) {
    const std::string name = child.filename().string();
    bool format_dir =
        name.size() > 1 && name[0] == 'v' &&
        std::all_of(name.begin() + 1, name.end(), [](char c) { return c >= '0' && c <= '9'; });
    fs::path trash = child;
    if (format_dir) {
      // One rename takes the whole tree away; readers holding an entry open finish with it.
      trash = root_ / (".trash." + cachefs::unique_token());
      if (::rename(child.c_str(), trash.c_str()) != 0) continue;
    } else if (!name.starts_with(".trash.")) {
      continue;  // not ours: never touch it
    }
    res.freed_bytes += cachefs::tree_bytes(trash);
    cachefs::remove_tree(trash);
  }
  return res;
}

std::size_t DiskCache::clean_stale_temp() const {
  if (!options_.writable) return 0;
  std::size_t removed = 0;
  // Trees renamed away by a clear() that was killed before it finished removing them.
  for (const fs::path& item : children(root_))
    if (item.filename().string().starts_with(".trash.") && cachefs::remove_tree(item)) ++removed;
  // Lock files of processes that died holding them: taking one proves nobody holds it, and the
  // release removes it (FileLock's protocol keeps that safe against concurrent lockers).
  for (const fs::path& item : children(version_dir_ / "locks")) {
    if (item.extension() != ".lock") continue;
    if (auto lock = FileLock::acquire(item, std::chrono::milliseconds(0))) {
      lock->release();
      ++removed;
    }
  }
  const fs::path tmp = version_dir_ / "tmp";
  std::vector<fs::path> items = children(tmp);
  if (items.empty()) return removed;
  const std::int64_t now = cachefs::file_system_now_ns(tmp);
  const std::int64_t max_age =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stale_temp_age).count();
  for (const fs::path& item : items) {
    const std::string name = item.filename().string();
    // "old.*" are entries being removed (renamed away first): always garbage.
    bool stale = name.starts_with("old.");
    if (!stale) {
      auto mtime = cachefs::mtime_ns(item);
      stale = mtime && now - *mtime >= max_age;
    }
    if (stale && cachefs::remove_tree(item)) ++removed;
  }
  return removed;
}

}  // namespace moejit
