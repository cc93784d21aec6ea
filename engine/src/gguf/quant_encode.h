// Writing the block formats hearth can produce (for `hearth quantize` and replaced weights):
// Q4_1, Q5_0, Q5_1, Q2_K..Q6_K, IQ4_NL and IQ4_XS, without an importance matrix. Each block's
// (or sub-block's) levels are chosen to cover all of its values, with every scale rounded up
// and every min rounded down, so each value ends within half a step of where it was: the step
// is the block's scale (Q4_1, Q5_0, Q5_1) or d times the sub-block's scale (K-quants). IQ4's
// levels are uneven: there, half the widest gap between levels (12 steps).
#pragma once

#include <cstdint>

#include "hearth/tensor_type.h"

namespace hearth {

bool can_encode_block_format(TensorType type);

// Encodes `count` blocks (count * block_values floats) of `type` into count * block_bytes.
void encode_blocks(TensorType type, const float* values, int64_t count, uint8_t* out);

}  // namespace hearth
