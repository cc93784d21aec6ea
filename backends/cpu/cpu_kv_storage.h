// The CPU backend's KV storage and its layout, which only its attention kernels rely on.
//
// A block holds `block_tokens` positions of every layer, stored as one chunk per (layer, KV
// head, K or V). Each layer has a region: first the key chunks, ordered [kv_heads][blocks],
// then the value chunks in the same order. So one head's chunks of consecutive blocks are
// adjacent, and attention over a sequence streams through memory. A key chunk is
// [head_dim][block_tokens] elements (transposed, so a block's scores are contiguous
// multiply-adds); a value chunk is [block_tokens][head_dim].
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend.h"

namespace hearth::cpu {

class CpuKvStorage final : public backend::KvStorage {
 public:
  // `buffer` holds at least required_bytes(desc).
  CpuKvStorage(const backend::KvStorageDesc& desc, std::unique_ptr<backend::DeviceBuffer> buffer);
  static size_t required_bytes(const backend::KvStorageDesc& desc);

  const backend::KvStorageDesc& desc() const override { return desc_; }
  size_t byte_size() const override { return buffer_->size(); }
  void copy_block(int32_t from, int32_t to) override;
  void read_rows(std::span<const int32_t> blocks, int32_t tokens, void* host) const override;
  void write_rows(std::span<const int32_t> blocks, int32_t tokens, const void* host) override;

  size_t chunk_bytes() const { return chunk_bytes_; }
  int32_t kv_heads(int32_t layer) const { return desc_.layer_kv_heads[layer]; }
  // [head_dim][block_tokens]
  std::byte* keys(int32_t layer, int32_t kv_head, int32_t block) const {
    return base_ + layer_offsets_[layer] + (size_t(kv_head) * desc_.blocks + block) * chunk_bytes_;
  }
  // [block_tokens][head_dim]
  std::byte* values(int32_t layer, int32_t kv_head, int32_t block) const {
    return keys(layer, kv_head, block) + size_t(kv_heads(layer)) * desc_.blocks * chunk_bytes_;
  }

 private:
  backend::KvStorageDesc desc_;
  std::unique_ptr<backend::DeviceBuffer> buffer_;
  std::byte* base_;
  size_t chunk_bytes_;
  std::vector<size_t> layer_offsets_;  // bytes, one per layer
};

}  // namespace hearth::cpu
