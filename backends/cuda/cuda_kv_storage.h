// The CUDA backend's KV storage: one device buffer, each layer a region laid out as
// device_formats.h describes.
#pragma once

#include <memory>
#include <vector>

#include "backend.h"
#include "cuda/cuda_memory.h"
#include "cuda/device_formats.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

class CudaKvStorage final : public backend::KvStorage {
 public:
  CudaKvStorage(DeviceContext& context, const backend::KvStorageDesc& desc);

  const backend::KvStorageDesc& desc() const override { return desc_; }
  size_t byte_size() const override { return buffer_->size(); }
  void copy_block(int32_t from, int32_t to) override;
  void read_rows(std::span<const int32_t> blocks, int32_t tokens, void* host) const override;
  void write_rows(std::span<const int32_t> blocks, int32_t tokens, const void* host) override;

  bool f16() const { return desc_.element == TensorType::f16; }
  KvLayerGeometry geometry(int32_t layer) const;
  void* layer_data(int32_t layer) const;

 private:
  // Uploads `blocks` and returns the device copy.
  const int32_t* device_table(std::span<const int32_t> blocks) const;

  DeviceContext& context_;
  backend::KvStorageDesc desc_;
  std::unique_ptr<CudaBuffer> buffer_;
  std::vector<size_t> layer_offsets_;  // bytes
  mutable ScratchBuffer table_, staging_;
};

}  // namespace hearth::HEARTH_GPU_NAMESPACE
