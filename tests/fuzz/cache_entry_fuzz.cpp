// Cache entries on disk (cache/entry_io): an entry is written, then damaged the way a crash, a
// full disk or a stray editor could (bytes changed, files cut short or grown, the manifest
// replaced by arbitrary text, or by an arbitrary body with a valid checksum). Properties:
// reading never throws or crashes, and an entry read as Ok holds exactly what was written;
// anything else is Corrupt, never a wrong or partial binary.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/entry_io.hpp"
#include "cache/fs_util.hpp"
#include "cache/sha256.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace moejit;
using moejit::fuzz::fail;
using moejit::fuzz::FuzzInput;

namespace {

const char* const kFiles[] = {kManifestFile, kKeyFile, kSourceFile, kLogFile, kPtxFile, kCubinFile};

// A scratch folder of this process, removed when it exits.
class ScratchRoot {
 public:
  ScratchRoot()
      : path_(std::filesystem::temp_directory_path() /
              ("moejit-fuzz-entry-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const std::filesystem::path& scratch_root() {
  static const ScratchRoot root;
  return root.path();
}

Artifact artifact_from(FuzzInput& in) {
  Artifact a;
  a.key_text = in.text(64);
  a.digest = sha256_hex(a.key_text);
  a.arch = in.text(8);
  a.source = in.text(256);
  for (std::size_t i = 0, n = in.byte() % 3; i < n; ++i) a.options.push_back(in.text(16));
  a.log = in.text(64);
  a.ptx = in.text(128);
  const std::string cubin = in.text(256);
  a.cubin.assign(cubin.begin(), cubin.end());
  for (std::size_t i = 0, n = in.byte() % 3; i < n; ++i) {
    KernelEntry k{in.text(24), in.text(24), {}};
    k.resources.registers = in.raw<int>();
    k.resources.spill_load_bytes = in.raw<int>();
    a.kernels.push_back(std::move(k));
  }
  a.compile_ms = in.raw<double>();
  return a;
}

std::string read_all(const std::filesystem::path& file) {
  std::string out;
  cachefs::UniqueFd dir = cachefs::open_dir(file.parent_path());
  cachefs::read_file_at(dir.get(), file.filename().string(), out, std::nullopt);
  return out;
}

void write_all(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::remove(file);
  cachefs::UniqueFd dir = cachefs::open_dir(file.parent_path());
  if (!cachefs::write_new_file(dir.get(), file.filename().string(), text, false).empty())
    fail("the harness can write its scratch entry", file.string());
}

// Damages the written entry as the input says.
void damage(FuzzInput& in, const std::filesystem::path& dir) {
  for (int edits = in.byte() % 4; edits > 0; --edits) {
    const std::filesystem::path file = dir / kFiles[in.index(std::size(kFiles))];
    std::string text = read_all(file);
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

bool same_kernels(const std::vector<KernelEntry>& a, const std::vector<KernelEntry>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name_expression != b[i].name_expression || a[i].lowered_name != b[i].lowered_name ||
        a[i].resources.registers != b[i].resources.registers ||
        a[i].resources.spill_load_bytes != b[i].resources.spill_load_bytes)
      return false;
  return true;
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
  const Artifact& got = r.artifact;
  if (got.key_text != written.key_text || got.digest != written.digest ||
      got.arch != written.arch || got.options != written.options ||
      !same_kernels(got.kernels, written.kernels))
    fail("an entry read as Ok has the manifest that was written", got.key_text);
  if (payloads && (got.source != written.source || got.log != written.log ||
                   got.ptx != written.ptx || got.cubin != written.cubin))
    fail("an entry read as Ok has the payloads that were written", got.key_text);
  return 0;
}
