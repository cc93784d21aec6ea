#include "gguf/dequantize.h"

#include <cstring>
#include <string>

#include "gguf/fp16.h"
#include "hearth/error.h"

namespace hearth {

void dequantize_row(TensorType type, const void* row, int64_t cols, float* out) {
  const auto* bytes = static_cast<const uint8_t*>(row);
  auto half_at = [&](int64_t i) {
    uint16_t h;
    std::memcpy(&h, bytes + i * 2, sizeof h);
    return h;
  };
  switch (type) {
    case TensorType::f32:
      std::memcpy(out, row, static_cast<size_t>(cols) * sizeof(float));
      return;
    case TensorType::f16:
      for (int64_t i = 0; i < cols; ++i) out[i] = f16_to_f32(half_at(i));
      return;
    case TensorType::bf16:
      for (int64_t i = 0; i < cols; ++i) out[i] = bf16_to_f32(half_at(i));
      return;
    case TensorType::q8_0:
    case TensorType::q4_0:
      break;
    default:
      throw Error("dequantize_row: unsupported type " +
                  tensor_type_name(static_cast<uint32_t>(type)));
  }
  if (cols % kQuantBlock != 0) {
    throw Error("dequantize_row: " + tensor_type_name(static_cast<uint32_t>(type)) + " row of " +
                std::to_string(cols) + " values is not whole blocks of 32");
  }
  const bool q4 = type == TensorType::q4_0;
  const int64_t block_bytes = q4 ? 18 : 34;
  for (int64_t b = 0; b < cols / kQuantBlock; ++b) {
    const uint8_t* block = bytes + b * block_bytes;
    uint16_t scale_bits;
    std::memcpy(&scale_bits, block, sizeof scale_bits);
    const float scale = f16_to_f32(scale_bits);
    const uint8_t* quants = block + 2;
    float* dst = out + b * kQuantBlock;
    if (q4) {
      for (int i = 0; i < 16; ++i) {
        dst[i] = scale * static_cast<float>((quants[i] & 0x0f) - 8);
        dst[i + 16] = scale * static_cast<float>((quants[i] >> 4) - 8);
      }
    } else {
      for (int i = 0; i < kQuantBlock; ++i) {
        dst[i] = scale * static_cast<float>(static_cast<int8_t>(quants[i]));
      }
    }
  }
}

}  // namespace hearth
