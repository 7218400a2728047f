// RAII device buffers, streams and captured graphs over the lazily loaded driver.
#include "runtime/device_memory.hpp"

#include <string>
#include <utility>

#include "moejit/error.hpp"
#include "runtime/driver.hpp"

namespace moejit {
namespace {

void ensure_context() { driver::current_or_primary_context(0); }

void check_range(std::size_t bytes, std::size_t have, const char* what) {
  if (bytes > have)
    throw Error(ErrorCode::InvalidProblem, std::string(what) + " of " + std::to_string(bytes) +
                                               " bytes exceeds the buffer's " +
                                               std::to_string(have) + " bytes");
}

}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  ensure_context();
  if (bytes == 0) return;
  driver::check(driver::api().cuMemAlloc(&ptr_, bytes),
                "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != 0) driver::api().cuMemFree(ptr_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, 0)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_ != 0) driver::api().cuMemFree(ptr_);
    ptr_ = std::exchange(other.ptr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) {
  check_range(bytes, bytes_, "upload");
  if (bytes == 0) return;
  driver::check(driver::api().cuMemcpyHtoD(ptr_, host, bytes), "cuMemcpyHtoD");
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
  check_range(bytes, bytes_, "download");
  if (bytes == 0) return;
  driver::check(driver::api().cuMemcpyDtoH(host, ptr_, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::fill_bytes(std::uint8_t value) {
  if (bytes_ == 0) return;
  driver::check(driver::api().cuMemsetD8(ptr_, value, bytes_), "cuMemsetD8");
}

void DeviceBuffer::require_whole_elements(const char* fill, std::size_t element_bytes) const {
  if (bytes_ % element_bytes != 0)
    throw Error(ErrorCode::InvalidProblem,
                std::string(fill) + " needs a buffer of whole " + std::to_string(element_bytes) +
                    "-byte elements, this one has " + std::to_string(bytes_) + " bytes");
}

void DeviceBuffer::fill_halves(std::uint16_t value) {
  require_whole_elements("fill_halves", 2);
  if (bytes_ == 0) return;
  driver::check(driver::api().cuMemsetD16(ptr_, value, bytes_ / 2), "cuMemsetD16");
}

void DeviceBuffer::fill_words(std::uint32_t value) {
  require_whole_elements("fill_words", 4);
  if (bytes_ == 0) return;
  driver::check(driver::api().cuMemsetD32(ptr_, value, bytes_ / 4), "cuMemsetD32");
}

void DeviceBuffer::fill_nan(ElementKind element) {
  if (element_bytes(element) == 4)
    fill_words(quiet_nan_bits(element));
  else
    fill_halves(static_cast<std::uint16_t>(quiet_nan_bits(element)));
}

DeviceStream::DeviceStream() {
  ensure_context();
  driver::check(driver::api().cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

DeviceStream::~DeviceStream() {
  if (stream_ != nullptr) driver::api().cuStreamDestroy(stream_);
}

void DeviceStream::synchronize() const {
  driver::check(driver::api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

CapturedGraph::~CapturedGraph() {
  if (exec_ != nullptr) driver::api().cuGraphExecDestroy(exec_);
  if (graph_ != nullptr) driver::api().cuGraphDestroy(graph_);
}

void CapturedGraph::begin(CUstream stream) {
  driver::check(driver::api().cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture");
}

void CapturedGraph::end(CUstream stream) {
  driver::check(driver::api().cuStreamEndCapture(stream, &graph_), "cuStreamEndCapture");
  driver::check(driver::api().cuGraphInstantiateWithFlags(&exec_, graph_, 0),
                "cuGraphInstantiateWithFlags");
}

void CapturedGraph::launch(CUstream stream) const {
  driver::check(driver::api().cuGraphLaunch(exec_, stream), "cuGraphLaunch");
}

void device_synchronize() { driver::check(driver::api().cuCtxSynchronize(), "cuCtxSynchronize"); }

}  // namespace moejit
