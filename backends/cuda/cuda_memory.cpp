#include "cuda/cuda_memory.h"

#include "cuda/cuda_check.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

void DeviceContext::use() const { check(cudaSetDevice(index), "cudaSetDevice"); }

void DeviceContext::upload(void* device, const void* host, size_t bytes) const {
  if (bytes == 0) return;
  check(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream), "upload");
}

void DeviceContext::download(void* host, const void* device, size_t bytes) const {
  if (bytes > 0) {
    check(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream), "download");
  }
  // Kernels' own failures surface at this synchronisation.
  check(cudaStreamSynchronize(stream), "running the queued kernels");
}

CudaBuffer::CudaBuffer(DeviceContext& context, size_t bytes) : context_(context), size_(bytes) {
  context.use();
  // cudaMalloc(0) may return null; one byte keeps data() a distinct device pointer.
  check(cudaMalloc(&data_, bytes > 0 ? bytes : 1),
        ("allocating " + std::to_string(bytes) + " bytes of device memory").c_str());
  context_.allocated += size_;
}

CudaBuffer::~CudaBuffer() {
  // Memory queued work may still read is freed only once the stream has drained.
  (void)cudaStreamSynchronize(context_.stream);
  (void)cudaFree(data_);
  context_.allocated -= size_;
}

void* ScratchBuffer::reserve(size_t bytes) {
  if (!buffer_ || buffer_->size() < bytes) {
    buffer_.reset();
    buffer_ = std::make_unique<CudaBuffer>(context_, bytes);
  }
  return buffer_->data();
}

}  // namespace hearth::HEARTH_GPU_NAMESPACE
