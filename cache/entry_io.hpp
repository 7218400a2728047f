// One cache entry on disk: a directory holding a checksummed manifest.json and the artifact's
// files (key, source, NVRTC log, PTX, cubin). Writing and verified reading; errors are values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cache/artifact.hpp"
#include "cache/fs_util.hpp"

namespace moejit {

// Version of the on-disk layout; entries live under "<root>/v<version>/". Bump it when the
// manifest or the file set changes, so that older readers never see the new layout.
inline constexpr int kEntryFormatVersion = 1;

// "v1" for format version 1.
std::string entry_format_dir_name();

// File names inside an entry directory.
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kKeyFile = "key.txt";
inline constexpr const char* kSourceFile = "source.cu";
inline constexpr const char* kLogFile = "nvrtc.log";
inline constexpr const char* kPtxFile = "kernel.ptx";
inline constexpr const char* kCubinFile = "kernel.cubin";
// Last-use stamp (nanoseconds since the epoch, 20 decimal digits); not part of the manifest.
inline constexpr const char* kStampFile = "last_use";

// The content of a last-use stamp for `ns` nanoseconds since the epoch (fixed width).
std::string stamp_text(std::int64_t ns);

// One payload file as the manifest lists it.
struct EntryFile {
  std::string name;
  std::uint64_t size = 0;
  std::string sha256;
};

enum class EntryStatus {
  Ok,        // every check passed
  Missing,   // no entry directory at that path (or it cannot be opened)
  Vanished,  // the directory was renamed or removed by someone else while it was being read
  Corrupt,   // present but failing a check; `problem` says which
};

struct EntryRead {
  EntryStatus status = EntryStatus::Missing;
  std::string problem;              // why it is corrupt (or what failed), empty when Ok
  Artifact artifact;                // complete when Ok and payloads were read
  std::vector<EntryFile> files;     // the manifest's file list (when the manifest was valid)
  cachefs::DirIdentity identity{};  // the directory that was read (quarantine checks it)
};

// Writes the artifact's payload files and then its manifest into `dir`, an existing empty
// directory. `sync` fsyncs every file. Returns an empty string on success, else the reason (for
// example "cannot write kernel.cubin: File too large"); on failure `dir` may hold partial files.
std::string write_entry(const std::filesystem::path& dir, const Artifact& artifact, bool sync);

// Reads and verifies the entry in `dir` for `digest`: manifest checksum, format version, digest,
// and the size and SHA-256 of every listed file. With `payloads` false only the manifest is read
// and verified (the artifact then has no source, log, PTX or cubin), which is what listing needs.
EntryRead read_entry(const std::filesystem::path& dir, std::string_view digest,
                     bool payloads = true);

}  // namespace moejit
