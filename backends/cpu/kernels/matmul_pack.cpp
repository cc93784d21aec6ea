// Packing of GGUF-layout weights into the kernels' row-group layout, and the scratch buffer
// that holds prepared activations.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "cpu/kernels/matmul.h"
#include "cpu/kernels/packed_layout.h"
#include "hearth/error.h"

namespace hearth::cpu {
namespace {

using layout::kGroupRows;

// Owned storage with a 64-byte aligned start, zero-filled so padding rows/columns read as 0.
std::shared_ptr<std::byte[]> allocate_zeroed(size_t bytes, std::byte** aligned) {
  std::shared_ptr<std::byte[]> storage(new std::byte[bytes + layout::kAlign]());
  const auto address = reinterpret_cast<uintptr_t>(storage.get());
  *aligned = storage.get() + (layout::align_up(address) - address);
  return storage;
}

size_t source_row_bytes(TensorType type, int64_t cols) {
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  if (!traits) throw Error("matmul: unsupported weight type " + tensor_type_name(static_cast<uint32_t>(type)));
  return static_cast<size_t>(cols / traits->block_values) * traits->block_bytes;
}

void pack_float(TensorType type, const std::byte* src, int64_t rows, int64_t cols,
                size_t src_row_bytes, std::byte* dst, size_t group_stride) {
  const size_t element = type == TensorType::f32 ? sizeof(float) : sizeof(uint16_t);
  for (int64_t r = 0; r < rows; ++r) {
    const std::byte* row = src + static_cast<size_t>(r) * src_row_bytes;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    for (int64_t k = 0; k < cols; ++k) {
      std::memcpy(group + layout::float_element_offset(type, r % kGroupRows, k),
                  row + static_cast<size_t>(k) * element, element);
    }
  }
}

// GGUF blocks: f16 scale, then quants (q8_0: 32 int8; q4_0: byte j = value j | value j+16).
void pack_quantized(TensorType type, const std::byte* src, int64_t rows, int64_t cols,
                    size_t src_row_bytes, std::byte* dst, size_t group_stride) {
  const bool q4 = type == TensorType::q4_0;
  const size_t block_bytes = q4 ? 18 : 34;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t lane = r % kGroupRows;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    for (int64_t b = 0; b < layout::block_count(cols); ++b) {
      const auto* block = reinterpret_cast<const uint8_t*>(
          src + static_cast<size_t>(r) * src_row_bytes + static_cast<size_t>(b) * block_bytes);
      std::memcpy(group + layout::scale_offset(type, cols, lane, b), block, sizeof(uint16_t));
      const uint8_t* quants = block + sizeof(uint16_t);
      for (int64_t i = 0; i < kQuantBlock; ++i) {
        const int64_t k = b * kQuantBlock + i;
        auto& out = reinterpret_cast<uint8_t&>(group[layout::quant_byte_offset(type, lane, k)]);
        if (!q4) {
          out = quants[i] ^ 0x80;  // int8 q -> unsigned q + 128
        } else {
          const uint8_t nibble = i < 16 ? quants[i] & 0x0f : quants[i - 16] >> 4;
          out |= (i % kQuantBlock) / 4 >= 4 ? nibble << 4 : nibble;
        }
      }
    }
  }
}

}  // namespace

PackedWeights PackedWeights::pack(TensorType type, const void* data, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) throw Error("matmul: negative weight shape");
  if (layout::is_quantized(type) && cols % kQuantBlock != 0) {
    throw Error("matmul: " + tensor_type_name(static_cast<uint32_t>(type)) + " weights need a " +
                "column count that is a multiple of 32, got " + std::to_string(cols));
  }
  PackedWeights w;
  w.type_ = type;
  w.rows_ = rows;
  w.cols_ = cols;
  w.row_stride_ = source_row_bytes(type, cols);
  w.group_stride_ = layout::group_bytes(type, cols);
  w.byte_size_ = w.group_stride_ * static_cast<size_t>(layout::group_count(rows));
  std::byte* aligned = nullptr;
  w.owned_ = allocate_zeroed(w.byte_size_, &aligned);
  w.data_ = aligned;
  const auto* src = static_cast<const std::byte*>(data);
  if (layout::is_quantized(type)) {
    pack_quantized(type, src, rows, cols, w.row_stride_, aligned, w.group_stride_);
  } else {
    pack_float(type, src, rows, cols, w.row_stride_, aligned, w.group_stride_);
  }
  return w;
}

size_t PackedWeights::byte_size() const { return byte_size_; }

void ActivationBuffer::reserve(TensorType type, int64_t tokens, int64_t cols) {
  if (!tensor_type_traits(static_cast<uint32_t>(type))) {
    throw Error("matmul: unsupported weight type " + tensor_type_name(static_cast<uint32_t>(type)));
  }
  type_ = type;
  cols_ = cols;
  row_stride_ = layout::activation_row_bytes(type, cols);
  const size_t needed = row_stride_ * static_cast<size_t>(std::max<int64_t>(tokens, 1));
  if (needed > capacity_) {
    data_.reset(new std::byte[needed + layout::kAlign]);
    const auto address = reinterpret_cast<uintptr_t>(data_.get());
    aligned_ = data_.get() + (layout::align_up(address) - address);
    capacity_ = needed;
  }
}

}  // namespace hearth::cpu
