// Conversion of GGUF-layout rows to f32: embedding lookups, norm weights, and tensors that
// load-time plugins rewrite.
#pragma once

#include <cstdint>

#include "hearth/tensor_type.h"

namespace hearth {

// Dequantizes one row of a GGUF-layout matrix: `cols` values to f32. Throws hearth::Error for
// an unsupported type or a q8_0/q4_0 row that is not whole 32-value blocks.
void dequantize_row(TensorType type, const void* row, int64_t cols, float* out);

}  // namespace hearth
