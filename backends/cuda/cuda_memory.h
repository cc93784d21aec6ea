// What the CUDA backend's objects share: the device, its one stream, and the count of device
// memory held; and the buffer type every allocation goes through.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "backend.h"
#include "cuda/gpu_vendor.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

struct DeviceContext {
  int index = 0;
  cudaStream_t stream = nullptr;  // every call of the backend queues here, in call order
  std::atomic<size_t> allocated{0};

  // Makes this device current on the calling thread (the runtime keeps it per thread).
  void use() const;
  // Queues a host-to-device copy; `host` may be reused when it returns.
  void upload(void* device, const void* host, size_t bytes) const;
  // Copies device bytes to the host once everything queued before has run.
  void download(void* host, const void* device, size_t bytes) const;
};

// cudaMalloc'ed memory, counted in the context's total while it lives.
class CudaBuffer final : public backend::DeviceBuffer {
 public:
  CudaBuffer(DeviceContext& context, size_t bytes);
  ~CudaBuffer() override;
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  void* data() override { return data_; }
  const void* data() const { return data_; }
  size_t size() const override { return size_; }

 private:
  DeviceContext& context_;
  void* data_ = nullptr;
  size_t size_;
};

// A device buffer that grows to the largest size asked of it (scratch space, pass arrays).
class ScratchBuffer {
 public:
  explicit ScratchBuffer(DeviceContext& context) : context_(context) {}
  void* reserve(size_t bytes);

 private:
  DeviceContext& context_;
  std::unique_ptr<CudaBuffer> buffer_;
};

}  // namespace hearth::HEARTH_GPU_NAMESPACE
