// Decoding of the GGUF block formats hearth reads but keeps no kernel layout of its own:
// Q4_1, Q5_0, Q5_1, the K-quants (Q2_K..Q6_K) and IQ4_NL / IQ4_XS, as GGML defines them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hearth/tensor_type.h"

namespace hearth {

// The 16 levels IQ4_NL and IQ4_XS nibbles stand for: a non-uniform 4-bit code, denser near
// zero where weights are.
inline constexpr int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// Whether `type` is one of the formats above.
bool is_block_format(TensorType type);

// Decodes `count` blocks of `type` (block_bytes and block_values from tensor_type_traits) to
// count * block_values floats.
void dequantize_blocks(TensorType type, const uint8_t* blocks, int64_t count, size_t block_bytes,
                       int64_t block_values, float* out);

// The 6-bit scale and min of sub-block `sub` (0..7) of a Q4_K or Q5_K super-block, from its
// 12 bytes of packed scales and mins.
void q4_k_scale_min(const uint8_t* scales, int sub, int& scale, int& min);

// Rewrites `count` Q5_K super-blocks as 8 * count Q5_1 blocks (24 bytes each): the same
// values, scale = f16(d * sub-block scale), min = f16(-dmin * sub-block min). The only change
// to the values is that rounding of the two products to f16 (relative 2^-11 at most).
void q5_k_as_q5_1(const uint8_t* superblocks, int64_t count, uint8_t* q5_1_blocks);

// Writes one Q6_K super-block: 256 values q (0..63, the weight's q - 32), 16 int8 scales, d.
void write_q6_k(const uint8_t* q, const int8_t* scales, uint16_t d, uint8_t* block);

// Rewrites `count` Q3_K super-blocks as Q6_K super-blocks (210 bytes each), exactly: the same
// d, the sub-block scales less 32 as its int8 scales, the values (-4..3) plus 32.
void q3_k_as_q6_k(const uint8_t* superblocks, int64_t count, uint8_t* q6_k_blocks);

// Rewrites `count` IQ4_XS super-blocks as 8 * count IQ4_NL blocks (18 bytes each): the same
// nibbles, scale = f16(d * (sub-block scale - 32)), rounded as above.
void iq4_xs_as_iq4_nl(const uint8_t* superblocks, int64_t count, uint8_t* iq4_nl_blocks);

}  // namespace hearth
