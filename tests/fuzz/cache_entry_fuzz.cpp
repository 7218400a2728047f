// Cache entries on disk (cache/entry_io): an entry is written, then damaged the way a crash, a
// full disk or a stray editor could (bytes changed, files cut short or grown, the manifest
// replaced by arbitrary text, or by an arbitrary body with a valid checksum). Properties:
// reading never throws or crashes, and an entry read as Ok holds exactly what was written;
// anything else is Corrupt, never a wrong or partial binary.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/entry_io.hpp"
#include "cache/sha256.hpp"
#include "tests/fuzz/fuzz_cache.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using namespace moejit::fuzz;

namespace {

const char* const kFiles[] = {kManifestFile, kKeyFile, kSourceFile, kLogFile, kPtxFile, kCubinFile};

void write_all(const std::filesystem::path& file, const std::string& text) {
  if (!put_file(file, text)) fail("the harness can write its scratch entry", file.string());
}

// Damages the written entry as the input says.
void damage(FuzzInput& in, const std::filesystem::path& dir) {
  for (int edits = in.byte() % 4; edits > 0; --edits) {
    const std::filesystem::path file = dir / kFiles[in.index(std::size(kFiles))];
    std::string text = file_text(file);
    switch (in.byte() % 6) {
      case 0:  // change bytes
        for (int n = 1 + in.byte() % 4; n > 0 && !text.empty(); --n)
          text[in.index(text.size())] ^= static_cast<char>(in.byte() | 1);
        break;
      case 1:  // cut short
        text.resize(text.empty() ? 0 : in.index(text.size()));
        break;
      case 2:  // grow
        text += in.text(16);
        break;
      case 3:  // remove
        std::filesystem::remove(file);
        continue;
      case 4:  // arbitrary manifest text
        write_all(dir / kManifestFile, in.text(512));
        continue;
      default: {  // arbitrary manifest body with a valid checksum
        const std::string body = in.text(512);
        write_all(dir / kManifestFile,
                  "{\"body_sha256\":\"" + sha256_hex(body) + "\",\"body\":" + body + "}\n");
        continue;
      }
    }
    write_all(file, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  const Artifact written = artifact_from(in);
  const bool payloads = in.boolean();
  const std::filesystem::path dir = scratch_root() / "entry";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  const std::string err = write_entry(dir, written, false);
  if (!err.empty()) {
    // Only text that JSON cannot carry (not UTF-8) is refused, with a reason.
    if (err.find("cannot encode the manifest") == std::string::npos)
      fail("write_entry fails only on text JSON cannot carry", err);
    return 0;
  }
  const EntryRead clean = read_entry(dir, written.digest, payloads);
  if (clean.status != EntryStatus::Ok) fail("an entry just written reads back", clean.problem);
  damage(in, dir);
  const EntryRead r = read_entry(dir, written.digest, payloads);
  if (r.status == EntryStatus::Missing || r.status == EntryStatus::Vanished)
    fail("a damaged entry is Ok or Corrupt", r.problem);
  if (r.status == EntryStatus::Corrupt) {
    if (r.problem.empty()) fail("a corrupt entry says why", "empty problem");
    return 0;
  }
  if (!same_artifact(r.artifact, written, payloads))
    fail("an entry read as Ok holds exactly what was written", r.artifact.key_text);
  return 0;
}
