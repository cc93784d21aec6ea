#include "cpu/cpu_kv_storage.h"

#include <cstring>

#include "hearth/error.h"

namespace hearth::cpu {
namespace {

// Copies `tokens` positions between one head's chunks (following the block table) and the
// canonical rows. Elements move unconverted: both sides hold the storage's element type.
template <typename Element, bool kToCanonical>
void move_rows(const CpuKvStorage& s, std::span<const int32_t> blocks, int32_t tokens,
               Element* canonical) {
  const auto& d = s.desc();
  const int32_t bt = d.block_tokens, hd = d.head_dim;
  for (int32_t l = 0; l < static_cast<int32_t>(d.layer_kv_heads.size()); ++l) {
    const size_t row = d.row_elements(l);
    Element* keys = canonical;
    Element* values = canonical + size_t(tokens) * row;
    for (int32_t p = 0; p < tokens; ++p) {
      const int32_t block = blocks[p / bt], offset = p % bt;
      for (int32_t h = 0; h < s.kv_heads(l); ++h) {
        auto* k_chunk = reinterpret_cast<Element*>(s.keys(l, h, block));
        auto* v_chunk = reinterpret_cast<Element*>(s.values(l, h, block)) + size_t(offset) * hd;
        Element* k_row = keys + p * row + size_t(h) * hd;
        Element* v_row = values + p * row + size_t(h) * hd;
        for (int32_t i = 0; i < hd; ++i) {
          Element& stored = k_chunk[size_t(i) * bt + offset];  // keys are [dim][position]
          if constexpr (kToCanonical) {
            k_row[i] = stored;
          } else {
            stored = k_row[i];
          }
        }
        if constexpr (kToCanonical) {
          std::memcpy(v_row, v_chunk, hd * sizeof(Element));
        } else {
          std::memcpy(v_chunk, v_row, hd * sizeof(Element));
        }
      }
    }
    canonical += 2 * size_t(tokens) * row;
  }
}

template <bool kToCanonical>
void move_rows(const CpuKvStorage& s, std::span<const int32_t> blocks, int32_t tokens,
               void* canonical) {
  const int32_t bt = s.desc().block_tokens;
  if (tokens < 0 || size_t(tokens) > blocks.size() * size_t(bt)) {
    throw Error("kv storage: " + std::to_string(tokens) + " positions do not fit in " +
                std::to_string(blocks.size()) + " blocks");
  }
  if (s.desc().element == TensorType::f16) {
    move_rows<uint16_t, kToCanonical>(s, blocks, tokens, static_cast<uint16_t*>(canonical));
  } else {
    move_rows<float, kToCanonical>(s, blocks, tokens, static_cast<float*>(canonical));
  }
}

}  // namespace

size_t CpuKvStorage::required_bytes(const backend::KvStorageDesc& desc) {
  return desc.block_bytes() * size_t(desc.blocks);
}

CpuKvStorage::CpuKvStorage(const backend::KvStorageDesc& desc,
                           std::unique_ptr<backend::DeviceBuffer> buffer)
    : desc_(desc),
      buffer_(std::move(buffer)),
      base_(static_cast<std::byte*>(buffer_->data())),
      chunk_bytes_(size_t(desc.block_tokens) * desc.head_dim * desc.element_bytes()) {
  size_t offset = 0;
  for (int32_t heads : desc_.layer_kv_heads) {
    layer_offsets_.push_back(offset);
    offset += 2 * size_t(heads) * desc_.blocks * chunk_bytes_;
  }
}

void CpuKvStorage::copy_block(int32_t from, int32_t to) {
  for (int32_t l = 0; l < static_cast<int32_t>(desc_.layer_kv_heads.size()); ++l) {
    for (int32_t h = 0; h < kv_heads(l); ++h) {
      std::memcpy(keys(l, h, to), keys(l, h, from), chunk_bytes_);
      std::memcpy(values(l, h, to), values(l, h, from), chunk_bytes_);
    }
  }
}

void CpuKvStorage::read_rows(std::span<const int32_t> blocks, int32_t tokens, void* host) const {
  move_rows<true>(*this, blocks, tokens, host);
}

void CpuKvStorage::write_rows(std::span<const int32_t> blocks, int32_t tokens, const void* host) {
  // The canonical rows are only read on this path.
  move_rows<false>(*this, blocks, tokens, const_cast<void*>(host));
}

}  // namespace hearth::cpu
