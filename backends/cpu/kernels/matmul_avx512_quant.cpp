// AVX-512 VNNI kernels for the quantized layouts (q8_0, q4_0, q4_1, ...; q6_K and q2_K below).
//
// Activations are int8 blocks (one float scale each); weights are stored unsigned (q8_0 as
// q + 128, q4_0 and q4_1 as their 0..15 nibbles), so vpdpbusd (u8 x s8) multiplies them
// directly. For q8_0 and q4_0 each block's int32 accumulator starts at the activation's bias
// (-offset * sum(x)), which removes the weight offset exactly; the block result is then
// scaled in f32. q4_1 starts at 0 and adds its min times sum(x) (what its bias holds).
#include "cpu/kernels/avx512_common.h"
#include "cpu/kernels/matmul_paths.h"
#include "cpu/kernels/tile_loop.h"

namespace hearth::cpu::avx512 {
namespace {

using layout::kGroupRows;

template <TensorType kType>
struct QuantKernel {
  using Job = MatmulJob;
  static constexpr bool kQ4 = layout::is_nibbles(kType);
  // q5_0 / q5_1: each value's fifth bit put back from the block's plane.
  static constexpr bool kFifth = layout::has_fifth_bits(kType);
  // iq4_nl: each nibble looked up as its level + 128 (unsigned for vpdpbusd; the bias of
  // -128 * sum(x) removes the offset).
  static constexpr bool kLevels = kType == TensorType::iq4_nl;
  static constexpr bool kMin = layout::has_mins(kType);
  // q4_K: u8 block scales and mins times the super-block's d and -dmin.
  static constexpr bool kSuper = layout::has_super_scales(kType);
  static constexpr size_t kBlockBytes = layout::quant_block_bytes(kType);  // 16 rows
  static constexpr size_t kScaleBytes = kSuper ? 1 : 2;  // of one row's block scale
  static constexpr int64_t kPrefetchBlocks = 8;

  // The 16 rows' f32 scales (or mins) of block b: f16 values at `at`, or for q4_K the u8
  // values at `at` times the super-block's f16 at `super_at`.
  static __m512 block_scales(const std::byte* group, size_t at, size_t super_at, int64_t b) {
    if constexpr (kSuper) {
      const __m512 small = _mm512_cvtepi32_ps(
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + at) + b)));
      const __m512 factor = _mm512_cvtph_ps(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(group + super_at) + b * kQuantBlock / kSuperBlock));
      return _mm512_mul_ps(small, factor);
    } else {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + at) + b));
    }
  }

  template <int G, int T>
  static void tile(const MatmulJob& job, int64_t group0, int64_t token0) {
    const int64_t blocks = layout::block_count(job.cols);
    const size_t scales_at = layout::scales_offset(kType, job.cols);
    const size_t mins_at = layout::mins_offset(kType, job.cols);
    const size_t super_scales_at = kSuper ? layout::super_scales_offset(kType, job.cols) : 0;
    const size_t super_mins_at = kSuper ? layout::super_mins_offset(kType, job.cols) : 0;
    const std::byte* weights[G];
    layout::QuantActivationRow x[T];
    __m512 sum[G][T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      x[t] = layout::quant_activation_row(token_activations(job, token0 + t), job.cols);
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) sum[g][t] = _mm512_setzero_ps();

    for (int64_t b = 0; b < blocks; ++b) {
      __m512i dot[G][T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512i bias = kMin ? _mm512_setzero_si512() : _mm512_set1_epi32(x[t].biases[b]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) dot[g][t] = bias;
      }
      // The hardware prefetcher alone leaves the loads of a multi-token tile waiting on
      // memory; fetching a few blocks ahead lets the dot products overlap the stream.
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const char* ahead =
            reinterpret_cast<const char*>(weights[g] + (b + kPrefetchBlocks) * kBlockBytes);
#pragma GCC unroll 8
        for (size_t line = 0; line < kBlockBytes; line += 64)
          _mm_prefetch(ahead + line, _MM_HINT_T0);
        // The scales live apart from the quants, a second stream; one line holds two blocks'
        // (four of q4_K's).
        if (b % (64 / (kGroupRows * kScaleBytes)) == 0) {
          const int64_t ahead_bytes = (b + kPrefetchBlocks) * kGroupRows * kScaleBytes;
          _mm_prefetch(reinterpret_cast<const char*>(weights[g] + scales_at) + ahead_bytes,
                       _MM_HINT_T0);
          if constexpr (kMin) {
            _mm_prefetch(reinterpret_cast<const char*>(weights[g] + mins_at) + ahead_bytes,
                         _MM_HINT_T0);
          }
        }
      }
      if constexpr (kQ4) {
        const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
        __m512i levels = _mm512_setzero_si512();
        if constexpr (kLevels) {
          alignas(16) int8_t table[16];
          for (int i = 0; i < 16; ++i) table[i] = static_cast<int8_t>(layout::kIq4Levels[i] + 128);
          levels = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
        }
#pragma GCC unroll 4
        for (int quad = 0; quad < 4; ++quad) {
          __m512i low[G], high[G];
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            const __m512i packed = _mm512_loadu_si512(weights[g] + b * kBlockBytes + quad * 64);
            low[g] = _mm512_and_si512(packed, low_nibbles);
            high[g] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
            if constexpr (kFifth) {
              // Bit quad of each plane byte is the low value's, bit 4 + quad the high one's:
              // moved to bit 4 (16-bit shifts stay inside the byte: the result is 0 or 16).
              const __m512i plane =
                  _mm512_loadu_si512(weights[g] + b * kBlockBytes + layout::kPlanesOffset);
              const __m512i low_bit = _mm512_and_si512(plane, _mm512_set1_epi8(char(1 << quad)));
              const __m512i high_bit =
                  _mm512_and_si512(plane, _mm512_set1_epi8(char(0x10 << quad)));
              low[g] =
                  _mm512_or_si512(low[g], _mm512_sll_epi16(low_bit, _mm_cvtsi32_si128(4 - quad)));
              high[g] =
                  _mm512_or_si512(high[g], _mm512_srl_epi16(high_bit, _mm_cvtsi32_si128(quad)));
            }
            if constexpr (kLevels) {
              low[g] = _mm512_shuffle_epi8(levels, low[g]);
              high[g] = _mm512_shuffle_epi8(levels, high[g]);
            }
          }
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const int8_t* xq = x[t].quants + b * kQuantBlock;
            const __m512i x_low = broadcast_u32(xq + quad * 4);
            const __m512i x_high = broadcast_u32(xq + quad * 4 + 16);
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) {
              dot[g][t] = _mm512_dpbusd_epi32(dot[g][t], low[g], x_low);
              dot[g][t] = _mm512_dpbusd_epi32(dot[g][t], high[g], x_high);
            }
          }
        }
      } else {
#pragma GCC unroll 4
        for (int quad = 0; quad < 8; ++quad) {
          __m512i w[G];
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            w[g] = _mm512_loadu_si512(weights[g] + b * kBlockBytes + quad * 64);
          }
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const __m512i xv = broadcast_u32(x[t].quants + b * kQuantBlock + quad * 4);
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) dot[g][t] = _mm512_dpbusd_epi32(dot[g][t], w[g], xv);
          }
        }
      }
      __m512 weight_scale[G], weight_min[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        weight_scale[g] = block_scales(weights[g], scales_at, super_scales_at, b);
        if constexpr (kMin) weight_min[g] = block_scales(weights[g], mins_at, super_mins_at, b);
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 x_scale = _mm512_set1_ps(x[t].scales[b]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          __m512 scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(dot[g][t]), weight_scale[g]);
          if constexpr (kMin) {
            const __m512 x_sum = _mm512_set1_ps(static_cast<float>(x[t].biases[b]));
            scaled = _mm512_fmadd_ps(weight_min[g], x_sum, scaled);
          }
          sum[g][t] = _mm512_fmadd_ps(scaled, x_scale, sum[g][t]);
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) store_outputs(job, group0 + g, token0 + t, sum[g][t]);
  }
};

// The layouts with a scale per half block, one accumulator per half:
//   q6_K: the low nibbles as q4_0's, each value's top 2 bits put back from the block's
//         planes, q = 0..63 multiplied unsigned; each accumulator started at its bias (-32 *
//         the half's sum of x);
//   q2_K: q = 0..3 from its 2-bit fields, accumulators started at 0; each half's min times
//         its sum of x added with the scales.
template <TensorType kType>
struct HalfBlockKernel {
  using Job = MatmulJob;
  static constexpr bool kQ2 = kType == TensorType::q2_K;
  static constexpr size_t kBlockBytes = layout::quant_block_bytes(kType);
  static constexpr int64_t kPrefetchBlocks = 8;

  template <int G, int T>
  static void tile(const MatmulJob& job, int64_t group0, int64_t token0) {
    const int64_t blocks = layout::block_count(job.cols);
    const size_t first_scales = layout::scales_offset(kType, job.cols);
    const size_t second_scales = layout::mins_offset(kType, job.cols);
    const size_t first_mins = layout::half_mins_offset(kType, job.cols);
    const size_t second_mins = first_mins + (second_scales - first_scales);
    // q6_K: int8 half-block scales times the super-block's d.
    constexpr bool kSuper = layout::has_super_scales(kType);
    const size_t super_at = kSuper ? layout::super_scales_offset(kType, job.cols) : 0;
    auto half_scales = [&](const std::byte* group, size_t at, int64_t b) {
      if constexpr (kSuper) {
        const __m512 small = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + at) + b)));
        return _mm512_mul_ps(
            small,
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + super_at) +
                                               b * kQuantBlock / kSuperBlock)));
      } else {
        return _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + at) + b));
      }
    };
    const std::byte* weights[G];
    layout::QuantActivationRow x[T];
    __m512 sum[G][T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      x[t] = layout::quant_activation_row(token_activations(job, token0 + t), job.cols);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) sum[g][t] = _mm512_setzero_ps();
    }
    const __m512i nibble = _mm512_set1_epi8(0x0f), two = _mm512_set1_epi8(0x03),
                  two_high = _mm512_set1_epi8(0x0c);
    for (int64_t b = 0; b < blocks; ++b) {
      __m512i dot[G][2][T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512i first = kQ2 ? _mm512_setzero_si512() : _mm512_set1_epi32(x[t].biases[2 * b]);
        const __m512i second =
            kQ2 ? _mm512_setzero_si512() : _mm512_set1_epi32(x[t].biases[2 * b + 1]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          dot[g][0][t] = first;
          dot[g][1][t] = second;
        }
      }
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const char* ahead =
            reinterpret_cast<const char*>(weights[g] + (b + kPrefetchBlocks) * kBlockBytes);
#pragma GCC unroll 6
        for (size_t line = 0; line < kBlockBytes; line += 64)
          _mm_prefetch(ahead + line, _MM_HINT_T0);
      }
#pragma GCC unroll 4
      for (int quad = 0; quad < 4; ++quad) {
        __m512i low[G], high[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
          const std::byte* block = weights[g] + b * kBlockBytes;
          if constexpr (kQ2) {
            // Bits 2 * quad of each byte (16-bit shifts: the byte's own bits stay below 0x03).
            const __m128i shift = _mm_cvtsi32_si128(2 * quad);
            low[g] = _mm512_and_si512(_mm512_srl_epi16(_mm512_loadu_si512(block), shift), two);
            high[g] =
                _mm512_and_si512(_mm512_srl_epi16(_mm512_loadu_si512(block + 64), shift), two);
          } else {
            const __m512i packed = _mm512_loadu_si512(block + quad * 64);
            __m512i top = _mm512_loadu_si512(block + layout::kPlanesOffset + (quad % 2) * 64);
            if (quad >= 2) top = _mm512_srli_epi16(top, 4);
            low[g] = _mm512_or_si512(_mm512_and_si512(packed, nibble),
                                     _mm512_slli_epi16(_mm512_and_si512(top, two), 4));
            high[g] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble),
                                      _mm512_slli_epi16(_mm512_and_si512(top, two_high), 2));
          }
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const int8_t* xq = x[t].quants + b * kQuantBlock;
          const __m512i x_low = broadcast_u32(xq + quad * 4);
          const __m512i x_high = broadcast_u32(xq + quad * 4 + 16);
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            dot[g][0][t] = _mm512_dpbusd_epi32(dot[g][0][t], low[g], x_low);
            dot[g][1][t] = _mm512_dpbusd_epi32(dot[g][1][t], high[g], x_high);
          }
        }
      }
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const __m512 first_scale = half_scales(weights[g], first_scales, b);
        const __m512 second_scale = half_scales(weights[g], second_scales, b);
        __m512 first_min = _mm512_setzero_ps(), second_min = _mm512_setzero_ps();
        if constexpr (kQ2) {
          first_min = _mm512_cvtph_ps(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(weights[g] + first_mins) + b));
          second_min = _mm512_cvtph_ps(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(weights[g] + second_mins) + b));
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          __m512 scaled =
              _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[g][1][t]), second_scale,
                              _mm512_mul_ps(_mm512_cvtepi32_ps(dot[g][0][t]), first_scale));
          if constexpr (kQ2) {
            scaled = _mm512_fmadd_ps(
                first_min, _mm512_set1_ps(static_cast<float>(x[t].biases[2 * b])), scaled);
            scaled = _mm512_fmadd_ps(
                second_min, _mm512_set1_ps(static_cast<float>(x[t].biases[2 * b + 1])), scaled);
          }
          sum[g][t] = _mm512_fmadd_ps(scaled, _mm512_set1_ps(x[t].scales[b]), sum[g][t]);
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) store_outputs(job, group0 + g, token0 + t, sum[g][t]);
  }
};

template <TensorType kType>
void run_half_blocks(const MatmulJob& job, int64_t group_begin, int64_t group_end, int64_t tokens) {
  if (tokens == 1) {
    run_tiles<HalfBlockKernel<kType>, 4, 1>(job, group_begin, group_end, tokens);
  } else {
    // Two accumulators a tile entry: fewer tokens a tile than q4_0's to stay in registers.
    run_tiles<HalfBlockKernel<kType>, 2, 4>(job, group_begin, group_end, tokens);
  }
}

template <TensorType kType>
void run_quantized(const MatmulJob& job, int64_t group_begin, int64_t group_end, int64_t tokens) {
  if (tokens == 1) {
    run_tiles<QuantKernel<kType>, 4, 1>(job, group_begin, group_end, tokens);
  } else if (tokens <= 8) {
    // A few tokens (beams, parallel streams) still stream the weights from memory: four
    // groups in flight keep enough loads outstanding, which two groups of six did not. Eight
    // tokens take two passes over four groups, the second from cache.
    run_tiles<QuantKernel<kType>, 4, 4>(job, group_begin, group_end, tokens);
  } else {
    run_tiles<QuantKernel<kType>, 2, 6>(job, group_begin, group_end, tokens);
  }
}

}  // namespace

void matmul_quantized(const PackedWeights& w, const MatmulJob& job, int64_t tokens) {
  const int64_t group_begin = first_group(job), group_end = end_group(job);
  if (w.type() == TensorType::q8_0) {
    run_quantized<TensorType::q8_0>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q4_1) {
    run_quantized<TensorType::q4_1>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q4_K) {
    run_quantized<TensorType::q4_K>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::iq4_nl) {
    run_quantized<TensorType::iq4_nl>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q6_K) {
    run_half_blocks<TensorType::q6_K>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q2_K) {
    run_half_blocks<TensorType::q2_K>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q5_0) {
    run_quantized<TensorType::q5_0>(job, group_begin, group_end, tokens);
  } else if (w.type() == TensorType::q5_1) {
    run_quantized<TensorType::q5_1>(job, group_begin, group_end, tokens);
  } else {
    run_quantized<TensorType::q4_0>(job, group_begin, group_end, tokens);
  }
}

}  // namespace hearth::cpu::avx512
