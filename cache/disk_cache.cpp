// DiskCache: reading, stamping, quarantining, locking and publishing entries of one root.
#include "cache/disk_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "cache/knobs.hpp"
#include "cache/sha256.hpp"

namespace moejit {

namespace fs = std::filesystem;

DiskCache::DiskCache(fs::path root, Options options)
    : root_(std::move(root)),
      version_dir_(root_ / entry_format_dir_name()),
      options_(std::move(options)) {}

fs::path DiskCache::entry_dir(const std::string& digest) const {
  return version_dir_ / digest.substr(0, 2) / digest;
}

std::error_code DiskCache::layout_dir(const fs::path& dir) const {
  if (std::error_code ec = cachefs::ensure_directory(version_dir_)) return ec;
  return dir == version_dir_ ? std::error_code() : cachefs::ensure_directory(dir);
}

std::string DiskCache::prepare() const {
  if (!options_.writable) return "read-only layer";
  for (const char* sub : {"tmp", "quarantine", "locks"}) {
    if (std::error_code ec = layout_dir(version_dir_ / sub))
      return "cannot create " + (version_dir_ / sub).string() + ": " + ec.message();
  }
  cachefs::UniqueFd dfd = cachefs::open_dir(version_dir_ / "tmp");
  if (!dfd.valid()) return cachefs::errno_message("cannot open " + version_dir_.string(), errno);
  const std::string probe = ".probe." + cachefs::unique_token();
  std::string err = cachefs::write_new_file(dfd.get(), probe, "probe", /*sync=*/false);
  ::unlinkat(dfd.get(), probe.c_str(), 0);
  if (!err.empty()) return "cannot write in " + (version_dir_ / "tmp").string() + ": " + err;
  clean_stale_temp();
  return {};
}

EntryRead DiskCache::load(const std::string& digest, bool payloads) const {
  return read_entry(entry_dir(digest), digest, payloads);
}

void DiskCache::touch(const std::string& digest) const {
  if (!options_.writable) return;
  // The stamp is fixed-width, so a hit rewrites it in place with one small write at offset 0:
  // the file never changes size, and a torn read (at worst) parses as invalid, and the entry
  // then ages by its manifest's time instead. Much cheaper than a temporary file and rename.
  const std::string text = stamp_text(cachefs::now_ns());
  const fs::path stamp = entry_dir(digest) / kStampFile;
  // O_NOFOLLOW: a stamp that is a symbolic link is replaced below, never written through.
  cachefs::UniqueFd fd(::open(stamp.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.valid() &&
      ::pwrite(fd.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    return;
  std::string err = cachefs::replace_file(entry_dir(digest), kStampFile, text);
  if (!err.empty()) log_message(LogLevel::Debug, "cannot stamp cache entry " + digest + ": " + err);
}

bool DiskCache::quarantine(const std::string& digest, const std::string& reason,
                           const std::optional<cachefs::DirIdentity>& seen) const {
  const fs::path dir = entry_dir(digest);
  if (!options_.writable) return false;
  if (seen) {
    auto now = cachefs::identity_of(dir);
    if (!now || !(*now == *seen)) return false;  // already moved or replaced by someone else
  }
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(dir, ec))) {
    // Not an entry moejit wrote: remove the link itself (never what it points at).
    const bool removed = ::unlink(dir.c_str()) == 0;
    log_message(LogLevel::Warn, "cache entry " + dir.string() + " is a symbolic link (" + reason +
                                    "); the link was " + (removed ? "removed" : "left") +
                                    " and the kernel is rebuilt");
    return removed;
  }
  layout_dir(version_dir_ / "quarantine");
  const fs::path dest = version_dir_ / "quarantine" / (digest + "." + cachefs::unique_token());
  if (::rename(dir.c_str(), dest.c_str()) != 0) {
    int err = errno;
    if (err != ENOENT)
      log_message(LogLevel::Warn, "corrupt cache entry " + dir.string() + " (" + reason +
                                      ") could not be moved aside: " + std::strerror(err) +
                                      "; it is ignored and the kernel is rebuilt");
    return false;
  }
  cachefs::replace_file(dest, "reason.txt", reason + "\n");
  log_message(LogLevel::Warn, "corrupt cache entry " + dir.string() + " (" + reason +
                                  ") moved to " + dest.string() + "; the kernel is rebuilt");
  return true;
}

std::optional<FileLock> DiskCache::lock(const std::string& digest,
                                        std::chrono::milliseconds timeout,
                                        std::string* problem) const {
  layout_dir(version_dir_ / "locks");
  return FileLock::acquire(version_dir_ / "locks" / (digest + ".lock"), timeout, problem);
}

PublishResult DiskCache::publish(const Artifact& artifact) const {
  const std::string& digest = artifact.digest;
  if (!options_.writable) return {PublishStatus::Failed, "read-only layer " + root_.string()};
  if (!is_sha256_hex(digest))
    return {PublishStatus::Failed, "digest '" + digest + "' is not a SHA-256 hex string"};
  const fs::path final_dir = entry_dir(digest);
  std::error_code ec = layout_dir(final_dir.parent_path());
  if (!ec) ec = layout_dir(version_dir_ / "tmp");
  if (ec) return {PublishStatus::Failed, "cannot create directories: " + ec.message()};
  const fs::path temp =
      version_dir_ / "tmp" / ("new." + digest.substr(0, 16) + "." + cachefs::unique_token());
  if (::mkdir(temp.c_str(), 0755) != 0)
    return {PublishStatus::Failed, cachefs::errno_message("cannot create " + temp.string(), errno)};

  std::string err = write_entry(temp, artifact, options_.sync);
  if (err.empty()) err = cachefs::replace_file(temp, kStampFile, std::to_string(cachefs::now_ns()));
  if (err.empty() && options_.before_publish_rename) {
    try {
      options_.before_publish_rename(temp);
    } catch (const std::exception& e) {
      err = std::string("publish hook failed: ") + e.what();
    }
  }
  if (!err.empty()) {
    cachefs::remove_tree(temp);
    return {PublishStatus::Failed, err};
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    int rc = cachefs::rename_no_replace(temp, final_dir);
    if (rc == 0) return {PublishStatus::Published, {}};
    if (rc != EEXIST && rc != ENOTEMPTY) {
      cachefs::remove_tree(temp);
      return {PublishStatus::Failed,
              cachefs::errno_message("cannot rename " + temp.string() + " into place", rc)};
    }
    // Another process published first: keep its entry if it is valid.
    EntryRead existing = load(digest);
    if (existing.status == EntryStatus::Ok) {
      cachefs::remove_tree(temp);
      return {PublishStatus::AlreadyPresent, {}};
    }
    if (existing.status == EntryStatus::Corrupt)
      quarantine(digest, existing.problem, existing.identity);
  }
  cachefs::remove_tree(temp);
  return {PublishStatus::Failed, "the entry at " + final_dir.string() + " kept changing"};
}

}  // namespace moejit
