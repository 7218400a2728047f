// Finds the CUDA toolkit headers at run time.
#include "runtime/cuda_toolkit.hpp"

#include <dlfcn.h>
#include <nvrtc.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "moejit/error.hpp"

namespace moejit {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> candidate_roots() {
  std::vector<fs::path> roots;
  if (const char* home = std::getenv("CUDA_HOME"); home != nullptr && *home != '\0')
    roots.emplace_back(home);
  // The toolkit that holds the libnvrtc this process loaded: <root>/lib64/libnvrtc.so.N, where
  // lib64 may be a link into targets/<platform>/lib.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nvrtcVersion), &info) != 0 && info.dli_fname != nullptr) {
    const fs::path lib(info.dli_fname);
    roots.push_back(lib.parent_path().parent_path());
    std::error_code ec;
    const fs::path real = fs::canonical(lib, ec);
    if (!ec) roots.push_back(real.parent_path().parent_path());
  }
  roots.emplace_back("/usr/local/cuda");
  return roots;
}

// CUDA_VERSION from a cuda.h, or 0.
int header_version(const fs::path& cuda_h) {
  std::ifstream in(cuda_h);
  std::string line;
  const std::string tag = "#define CUDA_VERSION ";
  while (std::getline(in, line))
    if (line.rfind(tag, 0) == 0) return std::atoi(line.c_str() + tag.size());
  return 0;
}

}  // namespace

std::optional<CudaToolkit> find_cuda_toolkit() {
  for (const fs::path& root : candidate_roots()) {
    std::error_code ec;
    const fs::path include = root / "include";
    if (!fs::is_regular_file(include / "cuda.h", ec) ||
        !fs::is_regular_file(include / "cuda_fp16.h", ec))
      continue;
    return CudaToolkit{include, header_version(include / "cuda.h")};
  }
  return std::nullopt;
}

const std::optional<CudaToolkit>& process_cuda_toolkit() {
  static const std::optional<CudaToolkit> toolkit = find_cuda_toolkit();
  return toolkit;
}

const CudaToolkit& cuda_toolkit() {
  if (process_cuda_toolkit()) return *process_cuda_toolkit();
  std::string looked;
  for (const fs::path& root : candidate_roots()) {
    looked += ' ';
    looked += (root / "include").string();
  }
  throw Error(ErrorCode::Unsupported,
              "the CUDA toolkit headers (cuda.h, cuda_fp16.h) that NVRTC needs were not "
              "found; looked in:" +
                  looked +
                  ". Install the CUDA toolkit or set CUDA_HOME to the directory that holds "
                  "include/cuda_fp16.h");
}

}  // namespace moejit
