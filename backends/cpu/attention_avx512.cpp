// AVX-512 inner loops of attention. Built with AVX-512 flags and called only when the CPU
// backend runs its avx512 kernel path.
#include <immintrin.h>

#include "cpu/attention_kernels.h"

namespace hearth::cpu {
namespace {

// Sixteen consecutive elements of a cache chunk as f32.
template <bool kF16>
__m512 load16(const std::byte* chunk, int64_t index) {
  if constexpr (kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(chunk) + index)));
  } else {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(chunk) + index);
  }
}

template <bool kF16>
void scores_16(const float* q, int32_t group, const std::byte* keys_t, int32_t head_dim,
               float* scores, int64_t stride) {
  // Eight (then four) query heads at a time share every key row load and conversion, and
  // give the FMA units enough independent chains to stay busy.
  int32_t g = 0;
  for (; g + 8 <= group; g += 8) {
    __m512 acc[8];
    for (int h = 0; h < 8; ++h) acc[h] = _mm512_setzero_ps();
    const float* q0 = q + g * head_dim;
    for (int32_t d = 0; d < head_dim; ++d) {
      const __m512 k = load16<kF16>(keys_t, int64_t{d} * 16);
      for (int h = 0; h < 8; ++h) {
        acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(q0[h * head_dim + d]), k, acc[h]);
      }
    }
    for (int h = 0; h < 8; ++h) _mm512_storeu_ps(scores + (g + h) * stride, acc[h]);
  }
  for (; g + 4 <= group; g += 4) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
           a3 = _mm512_setzero_ps();
    const float* q0 = q + g * head_dim;
    for (int32_t d = 0; d < head_dim; ++d) {
      const __m512 k = load16<kF16>(keys_t, int64_t{d} * 16);
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(q0[d]), k, a0);
      a1 = _mm512_fmadd_ps(_mm512_set1_ps(q0[head_dim + d]), k, a1);
      a2 = _mm512_fmadd_ps(_mm512_set1_ps(q0[2 * head_dim + d]), k, a2);
      a3 = _mm512_fmadd_ps(_mm512_set1_ps(q0[3 * head_dim + d]), k, a3);
    }
    _mm512_storeu_ps(scores + g * stride, a0);
    _mm512_storeu_ps(scores + (g + 1) * stride, a1);
    _mm512_storeu_ps(scores + (g + 2) * stride, a2);
    _mm512_storeu_ps(scores + (g + 3) * stride, a3);
  }
  for (; g < group; ++g) {
    __m512 a = _mm512_setzero_ps();
    for (int32_t d = 0; d < head_dim; ++d) {
      a = _mm512_fmadd_ps(_mm512_set1_ps(q[g * head_dim + d]),
                          load16<kF16>(keys_t, int64_t{d} * 16), a);
    }
    _mm512_storeu_ps(scores + g * stride, a);
  }
}

// Heads of 8: two positions' value rows fill one vector, weighted by their two weights.
template <bool kF16>
void weighted_sum_8(const float* weights, int64_t stride, int32_t group, const std::byte* values,
                    int32_t count, float* out) {
  for (int32_t g = 0; g < group; ++g) {
    const float* w = weights + g * stride;
    __m512 acc = _mm512_setzero_ps();
    int32_t j = 0;
    for (; j + 2 <= count; j += 2) {
      const __m512 pair = _mm512_castpd_ps(_mm512_insertf64x4(
          _mm512_castps_pd(_mm512_set1_ps(w[j])), _mm256_castps_pd(_mm256_set1_ps(w[j + 1])), 1));
      acc = _mm512_fmadd_ps(pair, load16<kF16>(values, int64_t{j} * 8), acc);
    }
    __m256 sum = _mm256_add_ps(_mm512_castps512_ps256(acc),
                               _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
    float tail[8];
    _mm256_storeu_ps(tail, sum);
    for (; j < count; ++j) {  // odd count: the last row alone (the next one is not written)
      for (int d = 0; d < 8; ++d) {
        const std::byte* row = values + int64_t{j} * 8 * (kF16 ? 2 : 4);
        float v;
        if constexpr (kF16) {
          v = _cvtsh_ss(reinterpret_cast<const uint16_t*>(row)[d]);
        } else {
          v = reinterpret_cast<const float*>(row)[d];
        }
        tail[d] += w[j] * v;
      }
    }
    for (int d = 0; d < 8; ++d) out[g * 8 + d] += tail[d];
  }
}

template <bool kF16>
void weighted_sum(const float* weights, int64_t stride, int32_t group, const std::byte* values,
                  int32_t count, int32_t head_dim, float* out) {
  if (head_dim == 8) return weighted_sum_8<kF16>(weights, stride, group, values, count, out);
  int32_t g = 0;
  if (head_dim == 64) {
    // Four heads at a time: each value row is loaded once for all four (16 accumulators).
    for (; g + 4 <= group; g += 4) {
      __m512 acc[4][4];
      for (int h = 0; h < 4; ++h) {
        for (int i = 0; i < 4; ++i) acc[h][i] = _mm512_loadu_ps(out + (g + h) * 64 + 16 * i);
      }
      for (int32_t j = 0; j < count; ++j) {
        const int64_t row = int64_t{j} * 64;
        const __m512 v0 = load16<kF16>(values, row), v1 = load16<kF16>(values, row + 16),
                     v2 = load16<kF16>(values, row + 32), v3 = load16<kF16>(values, row + 48);
        for (int h = 0; h < 4; ++h) {
          const __m512 w = _mm512_set1_ps(weights[(g + h) * stride + j]);
          acc[h][0] = _mm512_fmadd_ps(w, v0, acc[h][0]);
          acc[h][1] = _mm512_fmadd_ps(w, v1, acc[h][1]);
          acc[h][2] = _mm512_fmadd_ps(w, v2, acc[h][2]);
          acc[h][3] = _mm512_fmadd_ps(w, v3, acc[h][3]);
        }
      }
      for (int h = 0; h < 4; ++h) {
        for (int i = 0; i < 4; ++i) _mm512_storeu_ps(out + (g + h) * 64 + 16 * i, acc[h][i]);
      }
    }
  }
  for (; g < group; ++g) {
    for (int32_t d = 0; d < head_dim; d += 16) {
      __m512 acc = _mm512_loadu_ps(out + g * head_dim + d);
      for (int32_t j = 0; j < count; ++j) {
        acc = _mm512_fmadd_ps(_mm512_set1_ps(weights[g * stride + j]),
                              load16<kF16>(values, int64_t{j} * head_dim + d), acc);
      }
      _mm512_storeu_ps(out + g * head_dim + d, acc);
    }
  }
}

}  // namespace

void convert_f16_avx512(const std::byte* chunk, int64_t count, float* out) {
  for (int64_t i = 0; i < count; i += 16) _mm512_storeu_ps(out + i, load16<true>(chunk, i));
}

void attention_scores_16_avx512(const float* q, int32_t group, const std::byte* keys_t, bool f16,
                                int32_t head_dim, float* scores, int64_t stride) {
  if (f16) {
    scores_16<true>(q, group, keys_t, head_dim, scores, stride);
  } else {
    scores_16<false>(q, group, keys_t, head_dim, scores, stride);
  }
}

void attention_weighted_sum_avx512(const float* weights, int64_t stride, int32_t group,
                                   const std::byte* values, bool f16, int32_t count,
                                   int32_t head_dim, float* out) {
  if (f16) {
    weighted_sum<true>(weights, stride, group, values, count, head_dim, out);
  } else {
    weighted_sum<false>(weights, stride, group, values, count, head_dim, out);
  }
}

}  // namespace hearth::cpu
