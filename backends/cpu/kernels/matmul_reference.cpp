// Plain scalar path: the ground truth the SIMD paths are checked against, and the fallback
// for CPUs without AVX2. Reads weights one element at a time through the layout accessors.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/kernels/matmul_paths.h"
#include "cpu/kernels/packed_layout.h"
#include "cpu/kernels/quantize_activations.h"

namespace hearth::cpu::reference {

void prepare_activations(const PackedWeights& w, const float* x, int64_t ldx,
                         ActivationBuffer& buffer, int64_t t_begin, int64_t t_end) {
  const TensorType type = w.type();
  const int64_t cols = w.cols(), padded = layout::padded_cols(type, cols);
  for (int64_t t = t_begin; t < t_end; ++t) {
    const float* src = x + t * ldx;
    std::byte* row = buffer.data() + static_cast<size_t>(t) * buffer.row_stride();
    if (layout::is_quantized(type)) {
      quantize_activation_row_scalar(src, cols, layout::quant_offset(type), row,
                                     layout::has_half_scales(type));
      continue;
    }
    auto* f32 = reinterpret_cast<float*>(row);
    std::copy(src, src + cols, f32);
    std::fill(f32 + cols, f32 + padded, 0.0f);
    if (type == TensorType::f32) continue;
    uint16_t* bf16 = layout::bf16_activations(row, type, cols);
    for (int64_t k = 0; k < padded; ++k) bf16[k] = f32_to_bf16(f32[k]);
  }
}

void matmul(const PackedWeights& w, const ActivationBuffer& x, int64_t tokens, float* y,
            int64_t ldy, int64_t row_begin, int64_t row_end) {
  const int64_t cols = w.cols();
  for (int64_t t = 0; t < tokens; ++t) {
    const std::byte* row = x.data() + static_cast<size_t>(t) * x.row_stride();
    for (int64_t r = row_begin; r < row_end; ++r) {
      double sum = 0;
      if (layout::is_quantized(w.type())) {
        const layout::QuantActivationRow act = layout::quant_activation_row(row, cols);
        for (int64_t b = 0; b < layout::block_count(cols) && layout::has_half_scales(w.type());
             ++b) {
          for (int half = 0; half < 2; ++half) {
            int32_t dot = 0;
            for (int64_t i = 16 * half; i < 16 * half + 16; ++i) {
              const int64_t k = b * kQuantBlock + i;
              dot += layout::quant_weight(w, r, k) * act.quants[k];
            }
            sum += static_cast<double>(layout::half_scale(w, r, b, half)) * act.scales[b] * dot;
            if (layout::has_half_mins(w.type())) {  // the half's min times its sum of x
              sum += static_cast<double>(layout::half_min(w, r, b, half)) * act.scales[b] *
                     act.biases[2 * b + half];
            }
          }
        }
        for (int64_t b = 0; b < layout::block_count(cols) && !layout::has_half_scales(w.type());
             ++b) {
          int32_t dot = 0;
          for (int64_t i = 0; i < kQuantBlock; ++i) {
            const int64_t k = b * kQuantBlock + i;
            dot += layout::quant_weight(w, r, k) * act.quants[k];
          }
          sum += static_cast<double>(layout::quant_scale(w, r, b)) * act.scales[b] * dot;
          if (layout::has_mins(w.type())) {  // the min times the block's sum of x
            sum += static_cast<double>(layout::quant_min(w, r, b)) * act.scales[b] * act.biases[b];
          }
        }
      } else {
        const auto* act = reinterpret_cast<const float*>(row);
        for (int64_t k = 0; k < cols; ++k) {
          sum += static_cast<double>(layout::float_weight(w, r, k)) * act[k];
        }
      }
      y[t * ldy + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace hearth::cpu::reference
