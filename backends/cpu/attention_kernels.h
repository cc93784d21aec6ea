// The inner loops of paged attention, per instruction set. Keys of a block are stored
// transposed ([head_dim][block_tokens]), values as [block_tokens][head_dim].
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

// scores[g * stride + j] = q[g] . key_j for the `group` query heads (q rows of head_dim,
// already scaled) and the block's first `count` positions (16 positions per block).
// `f16`: the cache holds f16 elements, else f32.
void attention_scores_16_avx512(const float* q, int32_t group, const std::byte* keys_t, bool f16,
                                int32_t head_dim, float* scores, int64_t stride);

// For each of the `group` heads g: out[g * head_dim + d] += sum_j weights[g * stride + j] *
// values[j * head_dim + d] over the block's first `count` positions (head_dim % 16 == 0, or 8).
void attention_weighted_sum_avx512(const float* weights, int64_t stride, int32_t group,
                                   const std::byte* values, bool f16, int32_t count,
                                   int32_t head_dim, float* out);

// out[i] = f16 element i of `chunk` as f32, for i < count (count % 16 == 0).
void convert_f16_avx512(const std::byte* chunk, int64_t count, float* out);

}  // namespace hearth::cpu
