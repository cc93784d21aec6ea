// Merging the KV heads of one layer's projection: groups of consecutive heads become one.
#pragma once

#include <cstdint>
#include <vector>

namespace gqa_retrofit {

// `weight` is rows = heads * head_dim (head-major) by `cols`; the result has groups * head_dim
// rows, output head g the mean of input heads g * r .. g * r + r - 1 (r = heads / groups).
// Consecutive heads are merged because query head q reads KV head q / (query heads / heads):
// after the merge it reads q / (query heads / groups), the group its old head went to. A
// bias is the same with cols = 1.
std::vector<float> mean_merge(const std::vector<float>& weight, int32_t heads, int32_t head_dim,
                              int64_t cols, int32_t groups);

}  // namespace gqa_retrofit
