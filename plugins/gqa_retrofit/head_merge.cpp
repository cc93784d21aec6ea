#include "head_merge.h"

#include <algorithm>

namespace gqa_retrofit {

std::vector<float> mean_merge(const std::vector<float>& weight, int32_t heads, int32_t head_dim,
                              int64_t cols, int32_t groups) {
  const int32_t run = heads / groups;
  const size_t row = static_cast<size_t>(cols);
  std::vector<float> merged(static_cast<size_t>(groups) * head_dim * row, 0.0f);
  // Summed in double, then divided once: the mean of identical heads is exactly that head.
  std::vector<double> sum(row);
  for (int32_t group = 0; group < groups; ++group) {
    for (int32_t d = 0; d < head_dim; ++d) {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int32_t member = 0; member < run; ++member) {
        const float* in =
            weight.data() + (static_cast<size_t>(group * run + member) * head_dim + d) * row;
        for (size_t c = 0; c < row; ++c) sum[c] += in[c];
      }
      float* out = merged.data() + (static_cast<size_t>(group) * head_dim + d) * row;
      for (size_t c = 0; c < row; ++c) out[c] = static_cast<float>(sum[c] / run);
    }
  }
  return merged;
}

}  // namespace gqa_retrofit
