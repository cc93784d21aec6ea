// AVX-512 path: activation preparation and the split between the kernel families.
#include "cpu/kernels/avx512_common.h"
#include "cpu/kernels/matmul_paths.h"

namespace hearth::cpu::avx512 {
namespace {

void prepare_float_row(TensorType type, const float* x, int64_t cols, std::byte* row) {
  const int64_t padded = layout::padded_cols(type, cols);
  auto* f32 = reinterpret_cast<float*>(row);
  std::memcpy(f32, x, static_cast<size_t>(cols) * sizeof(float));
  std::fill(f32 + cols, f32 + padded, 0.0f);
  if (type == TensorType::f32) return;
  uint16_t* bf16 = layout::bf16_activations(row, type, cols);
  int64_t k = 0;
  for (; k + 32 <= padded; k += 32) {
    const __m512bh packed =
        _mm512_cvtne2ps_pbh(_mm512_loadu_ps(f32 + k + 16), _mm512_loadu_ps(f32 + k));
    _mm512_storeu_si512(bf16 + k, reinterpret_cast<const __m512i&>(packed));
  }
  for (; k < padded; ++k) bf16[k] = f32_to_bf16(f32[k]);
}

// Same arithmetic as quantize_activation_row_scalar(), 32 values at a time.
void prepare_quant_row(TensorType type, const float* x, int64_t cols, std::byte* row) {
  const auto [quants, scales, biases] = layout::quant_activation_row(row, cols);
  const int offset = layout::quant_offset(type);
  for (int64_t b = 0; b < layout::block_count(cols); ++b) {
    const __m512 lo = _mm512_loadu_ps(x + b * kQuantBlock);
    const __m512 hi = _mm512_loadu_ps(x + b * kQuantBlock + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
    const float scale = amax / 127.0f;
    const __m512 inverse = _mm512_set1_ps(scale != 0 ? 1.0f / scale : 0.0f);
    const __m512i q_lo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, inverse));  // round to even
    const __m512i q_hi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, inverse));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(quants + b * kQuantBlock),
                     _mm512_cvtepi32_epi8(q_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(quants + b * kQuantBlock + 16),
                     _mm512_cvtepi32_epi8(q_hi));
    scales[b] = scale;
    if (layout::has_half_scales(type)) {
      biases[2 * b] = -offset * _mm512_reduce_add_epi32(q_lo);
      biases[2 * b + 1] = -offset * _mm512_reduce_add_epi32(q_hi);
    } else {
      biases[b] = -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(q_lo, q_hi));
    }
  }
}

}  // namespace

void prepare_activations(const PackedWeights& w, const float* x, int64_t ldx,
                         ActivationBuffer& buffer, int64_t t_begin, int64_t t_end) {
  for (int64_t t = t_begin; t < t_end; ++t) {
    std::byte* row = buffer.data() + static_cast<size_t>(t) * buffer.row_stride();
    if (layout::is_quantized(w.type())) {
      prepare_quant_row(w.type(), x + t * ldx, w.cols(), row);
    } else {
      prepare_float_row(w.type(), x + t * ldx, w.cols(), row);
    }
  }
}

void matmul(const PackedWeights& w, const ActivationBuffer& x, int64_t tokens, float* y,
            int64_t ldy, int64_t row_begin, int64_t row_end) {
  const MatmulJob job = make_matmul_job(w, x, y, ldy, row_begin, row_end);
  if (layout::is_quantized(w.type())) {
    matmul_quantized(w, job, tokens);
  } else {
    matmul_float(w, job, tokens);
  }
}

}  // namespace hearth::cpu::avx512
