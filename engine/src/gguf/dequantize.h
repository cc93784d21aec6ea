// Conversion of GGUF-layout rows to f32: embedding lookups, norm weights, and tensors that
// load-time plugins rewrite.
#pragma once

#include <cstdint>

#include "hearth/tensor_type.h"

namespace hearth {

// Dequantizes one row of a GGUF-layout matrix: `cols` values to f32. Throws hearth::Error for
// an unsupported type or a q8_0/q4_0 row that is not whole 32-value blocks.
void dequantize_row(TensorType type, const void* row, int64_t cols, float* out);

// The inverse for the types hearth can write: f32, f16, bf16, Q8_0 and Q4_0 (per block of
// 32: the scale is the value of largest magnitude over -8 for Q4_0, its magnitude over 127
// for Q8_0, as llama.cpp's reference quantizers choose it), and Q4_1, Q5_0, Q5_1, Q4_K, Q5_K
// and Q6_K (quant_encode.h). Writes cols /
// block_values * block_bytes bytes (tensor_type_traits). Throws hearth::Error for other types and
// partial blocks.
void quantize_row(TensorType type, const float* values, int64_t cols, void* row);

// Whether quantize_row() can write `type`.
bool can_quantize(TensorType type);

}  // namespace hearth
