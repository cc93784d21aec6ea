#include "gguf/dequantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "gguf/fp16.h"
#include "gguf/quant_blocks.h"
#include "gguf/quant_encode.h"
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
    default: {
      const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
      if (traits && is_block_format(type)) {
        if (cols % traits->block_values != 0) {
          throw Error("dequantize_row: " + tensor_type_name(static_cast<uint32_t>(type)) +
                      " row of " + std::to_string(cols) + " values is not whole blocks of " +
                      std::to_string(traits->block_values));
        }
        dequantize_blocks(type, bytes, cols / traits->block_values, traits->block_bytes,
                          traits->block_values, out);
        return;
      }
      throw Error("dequantize_row: unsupported type " +
                  tensor_type_name(static_cast<uint32_t>(type)));
    }
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

bool can_quantize(TensorType type) {
  return type == TensorType::f32 || type == TensorType::f16 || type == TensorType::bf16 ||
         type == TensorType::q8_0 || type == TensorType::q4_0 || can_encode_block_format(type);
}

void quantize_row(TensorType type, const float* values, int64_t cols, void* row) {
  auto* bytes = static_cast<uint8_t*>(row);
  auto put_half = [&](int64_t at, uint16_t h) { std::memcpy(bytes + at, &h, sizeof h); };
  switch (type) {
    case TensorType::f32:
      std::memcpy(row, values, static_cast<size_t>(cols) * sizeof(float));
      return;
    case TensorType::f16:
      for (int64_t i = 0; i < cols; ++i) put_half(i * 2, f32_to_f16(values[i]));
      return;
    case TensorType::bf16:
      for (int64_t i = 0; i < cols; ++i) put_half(i * 2, f32_to_bf16(values[i]));
      return;
    case TensorType::q8_0:
    case TensorType::q4_0:
      break;
    default: {
      const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
      if (!traits || !can_encode_block_format(type)) {
        throw Error("quantize_row: cannot write " + tensor_type_name(static_cast<uint32_t>(type)));
      }
      if (cols % traits->block_values != 0) {
        throw Error("quantize_row: a row of " + std::to_string(cols) +
                    " values is not whole blocks of " + std::to_string(traits->block_values));
      }
      encode_blocks(type, values, cols / traits->block_values, bytes);
      return;
    }
  }
  if (cols % kQuantBlock != 0) {
    throw Error("quantize_row: a row of " + std::to_string(cols) +
                " values is not whole blocks of 32");
  }
  const bool q4 = type == TensorType::q4_0;
  const int64_t block_bytes = q4 ? 18 : 34;
  for (int64_t b = 0; b < cols / kQuantBlock; ++b) {
    const float* x = values + b * kQuantBlock;
    uint8_t* block = bytes + b * block_bytes;
    float largest = 0;  // the value of largest magnitude, with its sign
    for (int i = 0; i < kQuantBlock; ++i) {
      if (std::fabs(x[i]) > std::fabs(largest)) largest = x[i];
    }
    const float scale = q4 ? largest / -8.0f : std::fabs(largest) / 127.0f;
    const uint16_t scale_bits = f32_to_f16(scale);
    std::memcpy(block, &scale_bits, sizeof scale_bits);
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    uint8_t* quants = block + 2;
    if (q4) {
      auto code = [&](float v) {
        const int q = static_cast<int>(std::lround(v * inverse)) + 8;
        return static_cast<uint8_t>(std::clamp(q, 0, 15));
      };
      for (int i = 0; i < 16; ++i)
        quants[i] = code(x[i]) | static_cast<uint8_t>(code(x[i + 16]) << 4);
    } else {
      for (int i = 0; i < kQuantBlock; ++i) {
        quants[i] = static_cast<uint8_t>(static_cast<int8_t>(
            std::clamp(static_cast<int>(std::lround(x[i] * inverse)), -127, 127)));
      }
    }
  }
}

}  // namespace hearth
