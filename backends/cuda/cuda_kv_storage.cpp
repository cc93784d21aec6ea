#include "cuda/cuda_kv_storage.h"

#include <string>

#include "cuda/cuda_check.h"
#include "cuda/cuda_kernels.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

CudaKvStorage::CudaKvStorage(DeviceContext& context, const backend::KvStorageDesc& desc)
    : context_(context), desc_(desc), table_(context), staging_(context) {
  if (desc.head_dim <= 0 || desc.head_dim > 256) {
    throw Error(HEARTH_GPU_NAME ": KV cache head size " + std::to_string(desc.head_dim) +
                " is outside the attention kernel's 1..256");
  }
  size_t bytes = 0;
  for (size_t layer = 0; layer < desc.layer_kv_heads.size(); ++layer) {
    layer_offsets_.push_back(bytes);
    bytes += geometry(static_cast<int32_t>(layer)).elements() * desc.element_bytes();
  }
  try {
    buffer_ = std::make_unique<CudaBuffer>(context, bytes);
  } catch (const Error& e) {
    throw Error("KV cache of " + std::to_string(bytes >> 20) +
                    " MiB does not fit on " HEARTH_GPU_NAME ":" + std::to_string(context.index) +
                    " (" + e.what() + ")",
                ErrorCode::out_of_memory);
  }
}

KvLayerGeometry CudaKvStorage::geometry(int32_t layer) const {
  return {desc_.layer_kv_heads[layer], desc_.blocks, desc_.block_tokens, desc_.head_dim};
}

void* CudaKvStorage::layer_data(int32_t layer) const {
  return static_cast<std::byte*>(const_cast<CudaBuffer&>(*buffer_).data()) + layer_offsets_[layer];
}

void CudaKvStorage::copy_block(int32_t from, int32_t to) {
  context_.use();
  const size_t chunk = size_t(desc_.block_tokens) * desc_.head_dim * desc_.element_bytes();
  for (int32_t layer = 0; layer < static_cast<int32_t>(layer_offsets_.size()); ++layer) {
    const KvLayerGeometry g = geometry(layer);
    auto* base = static_cast<std::byte*>(layer_data(layer));
    for (int kind = 0; kind < 2; ++kind) {
      for (int32_t head = 0; head < g.kv_heads; ++head) {
        check(cudaMemcpyAsync(base + g.index(kind, head, to, 0, 0) * desc_.element_bytes(),
                              base + g.index(kind, head, from, 0, 0) * desc_.element_bytes(), chunk,
                              cudaMemcpyDeviceToDevice, context_.stream),
              "copying a KV block");
      }
    }
  }
}

const int32_t* CudaKvStorage::device_table(std::span<const int32_t> blocks) const {
  auto* table = static_cast<int32_t*>(table_.reserve(blocks.size_bytes()));
  context_.upload(table, blocks.data(), blocks.size_bytes());
  return table;
}

void CudaKvStorage::read_rows(std::span<const int32_t> blocks, int32_t tokens, void* host) const {
  context_.use();
  const int32_t* table = device_table(blocks);
  auto* staging = static_cast<std::byte*>(staging_.reserve(desc_.canonical_bytes(tokens)));
  size_t offset = 0;
  for (int32_t layer = 0; layer < static_cast<int32_t>(layer_offsets_.size()); ++layer) {
    launch_kv_to_canonical(layer_data(layer), geometry(layer), f16(), table, tokens,
                           staging + offset, context_.stream);
    offset += 2 * size_t(tokens) * desc_.row_elements(layer) * desc_.element_bytes();
  }
  check(cudaGetLastError(), "reading KV rows");
  context_.download(host, staging, desc_.canonical_bytes(tokens));
}

void CudaKvStorage::write_rows(std::span<const int32_t> blocks, int32_t tokens, const void* host) {
  context_.use();
  const int32_t* table = device_table(blocks);
  auto* staging = static_cast<std::byte*>(staging_.reserve(desc_.canonical_bytes(tokens)));
  context_.upload(staging, host, desc_.canonical_bytes(tokens));
  size_t offset = 0;
  for (int32_t layer = 0; layer < static_cast<int32_t>(layer_offsets_.size()); ++layer) {
    launch_kv_from_canonical(layer_data(layer), geometry(layer), f16(), table, tokens,
                             staging + offset, context_.stream);
    offset += 2 * size_t(tokens) * desc_.row_elements(layer) * desc_.element_bytes();
  }
  check(cudaGetLastError(), "writing KV rows");
}

}  // namespace hearth::HEARTH_GPU_NAMESPACE
