// AVX2 kernels for f32, f16 and bf16 weights: weights widened to f32, FMA with broadcast
// activations, each weight vector reused by up to 4 tokens (16 registers allow no more).
#include "cpu/kernels/avx2_common.h"
#include "cpu/kernels/matmul_paths.h"
#include "cpu/kernels/tile_loop.h"

namespace hearth::cpu::avx2 {
namespace {

using layout::kGroupRows;

// Columns k and k+1 (k even) of a group's 16 rows as f32: [column][rows 0..7 / 8..15].
template <TensorType kType>
inline void load_column_pair(const std::byte* group, int64_t k, __m256 (&w)[2][2]) {
  if constexpr (kType == TensorType::f32) {
    const auto* p = reinterpret_cast<const float*>(group) + k * kGroupRows;
    for (int i = 0; i < 4; ++i) w[i / 2][i % 2] = _mm256_loadu_ps(p + i * 8);
  } else if constexpr (kType == TensorType::f16) {
    const auto* p = reinterpret_cast<const __m128i*>(group) + k * 2;
    for (int i = 0; i < 4; ++i) w[i / 2][i % 2] = _mm256_cvtph_ps(_mm_loadu_si128(p + i));
  } else {  // bf16 pairs share a 32-bit lane: low half = column k, high half = column k + 1
    const auto* p = reinterpret_cast<const __m256i*>(group) + k;
    const __m256i high_half = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
    for (int half = 0; half < 2; ++half) {
      const __m256i pair = _mm256_loadu_si256(p + half);
      w[0][half] = _mm256_castsi256_ps(_mm256_slli_epi32(pair, 16));
      w[1][half] = _mm256_castsi256_ps(_mm256_and_si256(pair, high_half));
    }
  }
}

template <TensorType kType>
struct Fp32Kernel {
  using Job = MatmulJob;

  template <int G, int T>
  static void tile(const MatmulJob& job, int64_t group0, int64_t token0) {
    // One accumulator per output vector whatever the tile: a row's sum is then added up in
    // the same order however many tokens share the call, so batching never changes a
    // request's result. (Decode is bound by memory, not by the FMA chains this leaves.)
    __m256 acc[G][2][T];
    const std::byte* weights[G];
    const float* x[T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      x[t] = reinterpret_cast<const float*>(token_activations(job, token0 + t));
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) acc[g][h][t] = _mm256_setzero_ps();

    for (int64_t k = 0; k < job.cols; k += 2) {
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        __m256 w[2][2];
        load_column_pair<kType>(weights[g], k, w);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
#pragma GCC unroll 2
          for (int c = 0; c < 2; ++c) {
            const __m256 xv = _mm256_broadcast_ss(x[t] + k + c);
            acc[g][0][t] = _mm256_fmadd_ps(w[c][0], xv, acc[g][0][t]);
            acc[g][1][t] = _mm256_fmadd_ps(w[c][1], xv, acc[g][1][t]);
          }
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        store_outputs(job, group0 + g, token0 + t, acc[g][0][t], acc[g][1][t]);
  }
};

template <TensorType kType>
void run_fp32(const MatmulJob& job, int64_t tokens) {
  if (tokens == 1) {
    run_tiles<Fp32Kernel<kType>, 2, 1>(job, first_group(job), end_group(job), tokens);
  } else {
    run_tiles<Fp32Kernel<kType>, 1, 4>(job, first_group(job), end_group(job), tokens);
  }
}

}  // namespace

void matmul_float(const PackedWeights& w, const MatmulJob& job, int64_t tokens) {
  switch (w.type()) {
    case TensorType::f32:
      return run_fp32<TensorType::f32>(job, tokens);
    case TensorType::f16:
      return run_fp32<TensorType::f16>(job, tokens);
    case TensorType::bf16:
      return run_fp32<TensorType::bf16>(job, tokens);
    default:
      return;
  }
}

}  // namespace hearth::cpu::avx2
