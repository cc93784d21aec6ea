// Scalar quantization of one activation row into int8 blocks (layout in packed_layout.h),
// shared by the reference path and the SIMD paths' tails.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "cpu/kernels/kernel_isa.h"
#include "cpu/kernels/packed_layout.h"

namespace hearth::cpu {
inline namespace HEARTH_KERNEL_ISA {

// Per 32-value block: scale d = max|x| / 127, quants = round-to-even(x / d) as x * (1/d)
// (the SIMD paths compute exactly the same), bias = -offset * sum(quants); with `halves`, two
// biases a block, one per 16 values.
inline void quantize_activation_row_scalar(const float* x, int64_t cols, int offset, std::byte* row,
                                           bool halves = false) {
  const auto [quants, scales, biases] = layout::quant_activation_row(row, cols);
  for (int64_t b = 0; b < layout::block_count(cols); ++b) {
    const float* src = x + b * kQuantBlock;
    float amax = 0;
    for (int64_t i = 0; i < kQuantBlock; ++i) amax = std::fmax(amax, std::fabs(src[i]));
    const float scale = amax / 127.0f;
    const float inverse = scale != 0 ? 1.0f / scale : 0.0f;
    int32_t sum[2] = {0, 0};
    for (int64_t i = 0; i < kQuantBlock; ++i) {
      const auto q = static_cast<int8_t>(std::nearbyint(src[i] * inverse));
      quants[b * kQuantBlock + i] = q;
      sum[i / 16] += q;
    }
    scales[b] = scale;
    if (halves) {
      biases[2 * b] = -offset * sum[0];
      biases[2 * b + 1] = -offset * sum[1];
    } else {
      biases[b] = -offset * (sum[0] + sum[1]);
    }
  }
}

}  // namespace HEARTH_KERNEL_ISA
}  // namespace hearth::cpu
