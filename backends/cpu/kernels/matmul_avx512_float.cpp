// AVX-512 kernels for f32, f16 and bf16 weights.
//
// f32 and f16 weights are widened to f32 and multiplied with FMA (decode is bound by how fast
// weights stream from memory). bf16 weights meet bf16 activations in vdpbf16ps, two
// multiply-adds per lane; tiles of 4 row groups x 6 tokens reuse each weight vector for 6
// tokens. The kernel is chosen by the weight type alone (avx512_uses_bf16_dot), and every tile
// adds a row up in the same order, so a row's result never depends on the batch around it.
#include "cpu/kernels/avx512_common.h"
#include "cpu/kernels/matmul_paths.h"
#include "cpu/kernels/tile_loop.h"

namespace hearth::cpu::avx512 {
namespace {

using layout::kGroupRows;

// Columns k and k+1 (k even) of a group's 16 rows, widened to f32.
template <TensorType kType>
inline void load_column_pair(const std::byte* group, int64_t k, __m512& even, __m512& odd) {
  if constexpr (kType == TensorType::f32) {
    const auto* p = reinterpret_cast<const float*>(group) + k * kGroupRows;
    even = _mm512_loadu_ps(p);
    odd = _mm512_loadu_ps(p + kGroupRows);
  } else {
    static_assert(kType == TensorType::f16, "bf16 weights go through Bf16Kernel");
    const auto* p = reinterpret_cast<const __m256i*>(group) + k;
    even = _mm512_cvtph_ps(_mm256_loadu_si256(p));
    odd = _mm512_cvtph_ps(_mm256_loadu_si256(p + 1));
  }
}

template <TensorType kType>
struct Fp32Kernel {
  using Job = MatmulJob;

  template <int G, int T>
  static void tile(const MatmulJob& job, int64_t group0, int64_t token0) {
    // One accumulator per output vector whatever the tile: a row's sum is then added up in
    // the same order however many tokens share the call, so batching never changes a
    // request's result.
    __m512 acc[G][T];
    const std::byte* weights[G];
    const float* x[T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      x[t] = reinterpret_cast<const float*>(token_activations(job, token0 + t));
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[g][t] = _mm512_setzero_ps();

    for (int64_t k = 0; k < job.cols; k += 2) {
      __m512 even[G], odd[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) load_column_pair<kType>(weights[g], k, even[g], odd[g]);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 xe = _mm512_set1_ps(x[t][k]);
        const __m512 xo = _mm512_set1_ps(x[t][k + 1]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          acc[g][t] = _mm512_fmadd_ps(even[g], xe, acc[g][t]);
          acc[g][t] = _mm512_fmadd_ps(odd[g], xo, acc[g][t]);
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) store_outputs(job, group0 + g, token0 + t, acc[g][t]);
  }
};

// A run of bf16 column pairs in the [k/2][16 rows][2] layout, for one or more groups.
struct Bf16Panel {
  const std::byte* data;  // group `first_group`, pair k_begin / 2
  size_t group_stride;
  int64_t first_group;
  int64_t k_begin, k_count;
  bool accumulate;  // add to y (a later column block) instead of overwriting it
};

struct Bf16Job {
  MatmulJob matmul;
  TensorType type;
  Bf16Panel panel;
};

struct Bf16Kernel {
  using Job = Bf16Job;

  template <int G, int T>
  static void tile(const Bf16Job& job, int64_t group0, int64_t token0) {
    const Bf16Panel& panel = job.panel;
    __m512 acc[G][T];
    const std::byte* weights[G];
    const uint16_t* x[T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      weights[g] =
          panel.data + static_cast<size_t>(group0 + g - panel.first_group) * panel.group_stride;
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      x[t] = layout::bf16_activations(token_activations(job.matmul, token0 + t), job.type,
                                      job.matmul.cols) +
             panel.k_begin;
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[g][t] = _mm512_setzero_ps();

    for (int64_t k = 0; k < panel.k_count; k += 2) {
      __m512bh w[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        w[g] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(weights[g] + k * 32));
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const auto xv = reinterpret_cast<__m512bh>(broadcast_u32(x[t] + k));
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) acc[g][t] = _mm512_dpbf16_ps(acc[g][t], w[g], xv);
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        store_outputs(job.matmul, group0 + g, token0 + t, acc[g][t], panel.accumulate);
      }
  }
};

// 4 groups x 6 tokens: 24 accumulators, and each dpbf16 needs under half a load.
constexpr int kBf16TileGroups = 4, kBf16TileTokens = 6;

template <TensorType kType>
void matmul_fp32(const MatmulJob& job, int64_t group_begin, int64_t group_end, int64_t tokens) {
  if (tokens == 1) {
    run_tiles<Fp32Kernel<kType>, 4, 1>(job, group_begin, group_end, tokens);
  } else {
    run_tiles<Fp32Kernel<kType>, 2, 6>(job, group_begin, group_end, tokens);
  }
}

}  // namespace

void matmul_float(const PackedWeights& w, const MatmulJob& job, int64_t tokens) {
  const int64_t group_begin = first_group(job), group_end = end_group(job);
  switch (w.type()) {
    case TensorType::f32:
      return matmul_fp32<TensorType::f32>(job, group_begin, group_end, tokens);
    case TensorType::f16:
      static_assert(!avx512_uses_bf16_dot(TensorType::f16));
      return matmul_fp32<TensorType::f16>(job, group_begin, group_end, tokens);
    case TensorType::bf16: {
      static_assert(avx512_uses_bf16_dot(TensorType::bf16));
      const Bf16Job bf16_job{
          job, TensorType::bf16, {job.weights, job.group_stride, 0, 0, job.cols, false}};
      return run_tiles<Bf16Kernel, kBf16TileGroups, kBf16TileTokens>(bf16_job, group_begin,
                                                                     group_end, tokens);
    }
    default:
      return;
  }
}

}  // namespace hearth::cpu::avx512
