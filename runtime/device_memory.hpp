// Small RAII helpers over the driver API for tests and benchmarks: device buffers, streams and
// CUDA graph capture (timing: call_timer.hpp). Not used on the run() path.
#pragma once

#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "moejit/types.hpp"

namespace moejit {

// The bits of the quiet NaN of an element type: f32 0x7FC00000, f16 0x7E00, bf16 0x7FC0.
constexpr std::uint32_t quiet_nan_bits(ElementKind e) {
  return e == ElementKind::F32 ? 0x7FC00000u : e == ElementKind::Bf16 ? 0x7FC0u : 0x7E00u;
}

// Bytes of device memory in the current context (one is made current when none is). Move-only;
// freeing errors in the destructor are ignored. Throws Error(NoDevice) / Error(CudaError).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // A buffer holding a copy of host data.
  template <class T>
  static DeviceBuffer from(std::span<const T> host) {
    DeviceBuffer b(host.size_bytes());
    b.upload(host.data(), host.size_bytes());
    return b;
  }
  template <class T>
  static DeviceBuffer from(const std::vector<T>& host) {
    return from(std::span<const T>(host));
  }

  void* get() const { return reinterpret_cast<void*>(ptr_); }
  CUdeviceptr handle() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }

  // Synchronous copies of the first `bytes` bytes, and fills of the whole buffer. Throw
  // Error(InvalidProblem) when `bytes` exceeds the buffer, Error(CudaError) when a copy fails.
  void upload(const void* host, std::size_t bytes);
  void download(void* host, std::size_t bytes) const;
  void fill_bytes(std::uint8_t value);
  void fill_halves(std::uint16_t value);  // bytes() must be a multiple of 2
  void fill_words(std::uint32_t value);   // bytes() must be a multiple of 4
  // Every element of type `element` set to quiet_nan_bits(element): an output a kernel must
  // overwrite. bytes() must be a whole number of elements.
  void fill_nan(ElementKind element);

  template <class T>
  std::vector<T> to_host() const {
    std::vector<T> out(bytes_ / sizeof(T));
    download(out.data(), out.size() * sizeof(T));
    return out;
  }

 private:
  // Throws Error(InvalidProblem), naming `fill`, unless bytes() is a multiple of element_bytes.
  void require_whole_elements(const char* fill, std::size_t element_bytes) const;

  CUdeviceptr ptr_ = 0;
  std::size_t bytes_ = 0;
};

// A non-blocking stream in the current context.
class DeviceStream {
 public:
  DeviceStream();
  ~DeviceStream();
  DeviceStream(const DeviceStream&) = delete;
  DeviceStream& operator=(const DeviceStream&) = delete;
  CUstream get() const { return stream_; }
  void synchronize() const;

 private:
  CUstream stream_ = nullptr;
};

// A CUDA graph captured from a stream: begin() starts capturing, end() instantiates it.
class CapturedGraph {
 public:
  CapturedGraph() = default;
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;
  void begin(CUstream stream);
  void end(CUstream stream);
  void launch(CUstream stream) const;

 private:
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
};

// Waits for all work of the current context.
void device_synchronize();

}  // namespace moejit
