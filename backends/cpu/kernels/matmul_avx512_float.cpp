// AVX-512 kernels for f32, f16 and bf16 weights.
//
// Few tokens (decode): weights are widened to f32 and multiplied with FMA; the loop is bound
// by how fast weights stream from memory. Many tokens (prefill): weights and activations
// are bf16 and vdpbf16ps does two multiply-adds per lane, twice the f32 FMA rate; tiles of
// 4 row groups x 6 tokens reuse each weight vector for 6 tokens.
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
  } else if constexpr (kType == TensorType::f16) {
    const auto* p = reinterpret_cast<const __m256i*>(group) + k;
    even = _mm512_cvtph_ps(_mm256_loadu_si256(p));
    odd = _mm512_cvtph_ps(_mm256_loadu_si256(p + 1));
  } else {  // bf16 pairs share a 32-bit lane: low half = column k, high half = column k + 1
    const __m512i pair = _mm512_loadu_si512(reinterpret_cast<const uint16_t*>(group) + k * 16);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(pair, 16));
    odd = _mm512_castsi512_ps(
        _mm512_and_si512(pair, _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u))));
  }
}

template <TensorType kType>
struct Fp32Kernel {
  using Job = MatmulJob;

  template <int G, int T>
  static void tile(const MatmulJob& job, int64_t group0, int64_t token0) {
    // Small tiles split even/odd columns into separate accumulators so enough independent
    // FMA chains are in flight to hide their latency.
    constexpr int S = G * T >= 4 ? 1 : 2;
    __m512 acc[S][G][T];
    const std::byte* weights[G];
    const float* x[T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      x[t] = reinterpret_cast<const float*>(token_activations(job, token0 + t));
    }
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) acc[s][g][t] = _mm512_setzero_ps();

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
          acc[0][g][t] = _mm512_fmadd_ps(even[g], xe, acc[0][g][t]);
          acc[S - 1][g][t] = _mm512_fmadd_ps(odd[g], xo, acc[S - 1][g][t]);
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        __m512 sum = acc[0][g][t];
        if constexpr (S == 2) sum = _mm512_add_ps(sum, acc[1][g][t]);
        store_outputs(job, group0 + g, token0 + t, sum);
      }
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

// Converts columns [k_begin, k_begin + k_count) of one f16 group ([k][16 rows]) to the bf16
// pair layout ([k/2][16 rows][2]).
void convert_f16_group_to_bf16(const std::byte* group, int64_t k_begin, int64_t k_count,
                               uint16_t* out) {
  // Interleaves column k (lanes 0..15) with column k + 1 (lanes 16..31) row by row.
  alignas(64) static constexpr uint16_t kInterleave[32] = {
      0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
      8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i interleave = _mm512_load_si512(kInterleave);
  const auto* columns = reinterpret_cast<const __m256i*>(group) + k_begin;
  for (int64_t k = 0; k < k_count; k += 2) {
    const __m512 even = _mm512_cvtph_ps(_mm256_loadu_si256(columns + k));
    const __m512 odd = _mm512_cvtph_ps(_mm256_loadu_si256(columns + k + 1));
    const __m512bh both = _mm512_cvtne2ps_pbh(odd, even);
    _mm512_store_si512(
        out + k * 16, _mm512_permutexvar_epi16(interleave, reinterpret_cast<const __m512i&>(both)));
  }
}

// f16 weights with many tokens: converts a panel of kBf16TileGroups groups x kPanelCols
// columns to bf16 on the stack (64 KiB, reused by every token tile), then accumulates its
// partial sums into y.
void matmul_f16_as_bf16(const MatmulJob& job, int64_t group_begin, int64_t group_end,
                        int64_t tokens) {
  constexpr int64_t kPanelCols = 512;
  alignas(64) uint16_t panel[kBf16TileGroups][kPanelCols * kGroupRows];
  Bf16Job bf16_job{job, TensorType::f16, {}};
  for (int64_t group = group_begin; group < group_end; group += kBf16TileGroups) {
    const int64_t groups = std::min<int64_t>(kBf16TileGroups, group_end - group);
    for (int64_t k = 0; k < job.cols; k += kPanelCols) {
      const int64_t count = std::min(kPanelCols, job.cols - k);
      for (int64_t g = 0; g < groups; ++g) {
        convert_f16_group_to_bf16(group_weights(job, group + g), k, count, panel[g]);
      }
      bf16_job.panel = {
          reinterpret_cast<const std::byte*>(panel), sizeof(panel[0]), group, k, count, k > 0};
      if (groups == kBf16TileGroups) {
        run_token_tiles<Bf16Kernel, kBf16TileGroups, kBf16TileTokens>(bf16_job, group, tokens);
      } else {
        for (int64_t g = 0; g < groups; ++g) {
          run_token_tiles<Bf16Kernel, 1, kBf16TileTokens>(bf16_job, group + g, tokens);
        }
      }
    }
  }
}

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
  const bool many_tokens = tokens >= bf16_min_tokens(w.type());
  switch (w.type()) {
    case TensorType::f32:
      return matmul_fp32<TensorType::f32>(job, group_begin, group_end, tokens);
    case TensorType::f16:
      if (many_tokens) return matmul_f16_as_bf16(job, group_begin, group_end, tokens);
      return matmul_fp32<TensorType::f16>(job, group_begin, group_end, tokens);
    case TensorType::bf16:
      if (many_tokens) {
        const Bf16Job bf16_job{
            job, TensorType::bf16, {job.weights, job.group_stride, 0, 0, job.cols, false}};
        return run_tiles<Bf16Kernel, kBf16TileGroups, kBf16TileTokens>(bf16_job, group_begin,
                                                                       group_end, tokens);
      }
      return matmul_fp32<TensorType::bf16>(job, group_begin, group_end, tokens);
    default:
      return;
  }
}

}  // namespace hearth::cpu::avx512
