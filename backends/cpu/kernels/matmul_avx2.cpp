// AVX2 path: activation preparation and the split between the kernel families.
#include "cpu/kernels/avx2_common.h"
#include "cpu/kernels/matmul_paths.h"

namespace hearth::cpu::avx2 {
namespace {

void prepare_float_row(TensorType type, const float* x, int64_t cols, std::byte* row) {
  const int64_t padded = layout::padded_cols(type, cols);
  auto* f32 = reinterpret_cast<float*>(row);
  std::memcpy(f32, x, static_cast<size_t>(cols) * sizeof(float));
  std::fill(f32 + cols, f32 + padded, 0.0f);
  if (type == TensorType::f32) return;
  // The AVX2 kernels never read the bf16 copy; it is written so the buffer has the same
  // contents whichever path prepared it.
  uint16_t* bf16 = layout::bf16_activations(row, type, cols);
  for (int64_t k = 0; k < padded; ++k) bf16[k] = f32_to_bf16(f32[k]);
}

float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

int32_t horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// Same arithmetic as quantize_activation_row_scalar(), 32 values at a time.
void prepare_quant_row(TensorType type, const float* x, int64_t cols, std::byte* row) {
  const auto [quants, scales, biases] = layout::quant_activation_row(row, cols);
  const int offset = layout::quant_offset(type);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < layout::block_count(cols); ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + b * kQuantBlock + i * 8);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[i]));
    }
    const float scale = horizontal_max(amax) / 127.0f;
    const __m256 inverse = _mm256_set1_ps(scale != 0 ? 1.0f / scale : 0.0f);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], inverse));
    const __m256i first = _mm256_add_epi32(q[0], q[1]), second = _mm256_add_epi32(q[2], q[3]);
    const __m256i sum = _mm256_add_epi32(first, second);
    // packs works within 128-bit lanes; the permute restores the original order.
    const __m256i packed =
        _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(quants + b * kQuantBlock), ordered);
    scales[b] = scale;
    if (layout::has_half_scales(type)) {
      biases[2 * b] = -offset * horizontal_sum(first);
      biases[2 * b + 1] = -offset * horizontal_sum(second);
    } else {
      biases[b] = -offset * horizontal_sum(sum);
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

}  // namespace hearth::cpu::avx2
