#include "model/stored_weight.h"

#include <cstring>

#include "gguf/dequantize.h"

namespace hearth {

StoredWeight store_like(const gguf::TensorInfo* original, const ReplacedTensor& replaced) {
  StoredWeight out;
  const int64_t rows = replaced.rows, cols = replaced.cols;
  const TensorType type = original ? original->type() : TensorType::f32;
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  // A single row (a bias, a norm) stays f32, as files keep vectors.
  if (type == TensorType::f32 || rows == 1 || !can_quantize(type) || !traits ||
      cols % traits->block_values != 0) {
    out.bytes.resize(replaced.values.size() * sizeof(float));
    std::memcpy(out.bytes.data(), replaced.values.data(), out.bytes.size());
    return out;
  }
  out.type = type;
  const size_t row_bytes = static_cast<size_t>(cols / traits->block_values) * traits->block_bytes;
  out.bytes.resize(row_bytes * static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    quantize_row(type, replaced.values.data() + i * cols, cols,
                 out.bytes.data() + static_cast<size_t>(i) * row_bytes);
  }
  return out;
}

}  // namespace hearth
