// AVX2 kernels for the quantized layouts (q8_0, q4_0, q4_1, ...; q6_K and q2_K below). Without
// VNNI, vpmaddubsw (u8 x s8 -> s16 pairs) and vpmaddwd (s16 pairs -> s32) form each 4-value dot
// product.
//   q4_0: nibbles 0..15 are unsigned already; the accumulator starts at the activation bias
//         (-8 * sum(x)) to remove the offset.
//   q4_1: the same nibbles from 0, plus the block's min times sum(x) (its bias) in f32.
//   iq4_nl: each nibble looked up as its signed level, then multiplied as q8_0's are
//         (|level| x (x with the level's sign)); no bias.
//   q8_0: q + 128 would saturate vpmaddubsw, so the stored value is turned back into the
//         signed q and multiplied as |q| x (x with q's sign); no bias needed.
#include "cpu/kernels/avx2_common.h"
#include "cpu/kernels/matmul_paths.h"
#include "cpu/kernels/tile_loop.h"

namespace hearth::cpu::avx2 {
namespace {

template <TensorType kType>
struct QuantKernel {
  using Job = MatmulJob;
  static constexpr bool kLevels = kType == TensorType::iq4_nl;
  static constexpr bool kQ4 = layout::is_nibbles(kType);
  static constexpr bool kFifth = layout::has_fifth_bits(kType);  // q5_0, q5_1
  static constexpr bool kMin = layout::has_mins(kType);
  // q4_K: u8 block scales and mins times the super-block's d and -dmin.
  static constexpr bool kSuper = layout::has_super_scales(kType);
  static constexpr size_t kBlockBytes = layout::quant_block_bytes(kType);  // 16 rows
  static constexpr int64_t kPrefetchBlocks = 8;

  // Rows 8h .. 8h + 7's f32 scales (or mins) of block b: f16 values at `at`, or for q4_K the
  // u8 values at `at` times the super-block's f16 at `super_at`.
  static __m256 block_scales(const std::byte* group, size_t at, size_t super_at, int64_t b, int h) {
    if constexpr (kSuper) {
      const __m256 small = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
          reinterpret_cast<const __m128i*>(group + at + static_cast<size_t>(b * 16 + h * 8)))));
      const __m256 factor =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + super_at) +
                                          (b * kQuantBlock / kSuperBlock) * 2 + h));
      return _mm256_mul_ps(small, factor);
    } else {
      return _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + at) + b * 2 + h));
    }
  }

  // dot += 4-value dot products of unsigned `u` and signed `s`, per 32-bit lane.
  static __m256i dot_add(__m256i dot, __m256i u, __m256i s) {
    const __m256i pairs = _mm256_maddubs_epi16(u, s);
    return _mm256_add_epi32(dot, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
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
    __m256 sum[G][2][T];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      x[t] = layout::quant_activation_row(token_activations(job, token0 + t), job.cols);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) sum[g][0][t] = sum[g][1][t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; ++b) {
      __m256i dot[G][2][T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256i start =
            kQ4 && !kMin && !kLevels ? _mm256_set1_epi32(x[t].biases[b]) : _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) dot[g][0][t] = dot[g][1][t] = start;
      }
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        const std::byte* block = weights[g] + b * kBlockBytes;
        // Fetched a few blocks ahead, so the loads of a multi-token tile do not wait on memory.
        const char* ahead = reinterpret_cast<const char*>(block + kPrefetchBlocks * kBlockBytes);
#pragma GCC unroll 8
        for (size_t line = 0; line < kBlockBytes; line += 64)
          _mm_prefetch(ahead + line, _MM_HINT_T0);
        if constexpr (kFifth) {
          // 5-bit values: each value's fifth bit from the plane (bit quad: the low value's,
          // 4 + quad: the high one's); 31 * 127 * 2 per vpmaddubsw lane, widened at once.
          const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 4
          for (int quad = 0; quad < 4; ++quad) {
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h) {
              const __m256i packed =
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + quad * 64 + h * 32));
              const __m256i plane = _mm256_loadu_si256(
                  reinterpret_cast<const __m256i*>(block + layout::kPlanesOffset + h * 32));
              const __m256i low_bit = _mm256_and_si256(plane, _mm256_set1_epi8(char(1 << quad)));
              const __m256i high_bit =
                  _mm256_and_si256(plane, _mm256_set1_epi8(char(0x10 << quad)));
              const __m256i low =
                  _mm256_or_si256(_mm256_and_si256(packed, low_nibbles),
                                  _mm256_sll_epi16(low_bit, _mm_cvtsi32_si128(4 - quad)));
              const __m256i high =
                  _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles),
                                  _mm256_srl_epi16(high_bit, _mm_cvtsi32_si128(quad)));
#pragma GCC unroll 8
              for (int t = 0; t < T; ++t) {
                const int8_t* xq = x[t].quants + b * kQuantBlock + quad * 4;
                dot[g][h][t] = dot_add(dot[g][h][t], low, broadcast_u32(xq));
                dot[g][h][t] = dot_add(dot[g][h][t], high, broadcast_u32(xq + 16));
              }
            }
          }
        } else if constexpr (kLevels) {
          // Levels reach 127: each product pair is widened at once, as q8_0's are.
          alignas(16) int8_t table[16];
          for (int i = 0; i < 16; ++i) table[i] = layout::kIq4Levels[i];
          const __m256i levels =
              _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
          const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 4
          for (int quad = 0; quad < 4; ++quad) {
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h) {
              const __m256i packed =
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + quad * 64 + h * 32));
              const __m256i low =
                  _mm256_shuffle_epi8(levels, _mm256_and_si256(packed, low_nibbles));
              const __m256i high = _mm256_shuffle_epi8(
                  levels, _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles));
              const __m256i low_magnitude = _mm256_abs_epi8(low);
              const __m256i high_magnitude = _mm256_abs_epi8(high);
#pragma GCC unroll 8
              for (int t = 0; t < T; ++t) {
                const int8_t* xq = x[t].quants + b * kQuantBlock + quad * 4;
                dot[g][h][t] =
                    dot_add(dot[g][h][t], low_magnitude, _mm256_sign_epi8(broadcast_u32(xq), low));
                dot[g][h][t] = dot_add(dot[g][h][t], high_magnitude,
                                       _mm256_sign_epi8(broadcast_u32(xq + 16), high));
              }
            }
          }
        } else if constexpr (kQ4) {
          // 15 * 127 * 2 per vpmaddubsw lane: all 8 of a block's products fit in int16, so
          // they are summed there and widened once per block.
          const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
          __m256i pairs[2][T];
#pragma GCC unroll 4
          for (int quad = 0; quad < 4; ++quad) {
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h) {
              const __m256i packed =
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + quad * 64 + h * 32));
              const __m256i low = _mm256_and_si256(packed, low_nibbles);
              const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
#pragma GCC unroll 8
              for (int t = 0; t < T; ++t) {
                const int8_t* xq = x[t].quants + b * kQuantBlock + quad * 4;
                const __m256i both =
                    _mm256_add_epi16(_mm256_maddubs_epi16(low, broadcast_u32(xq)),
                                     _mm256_maddubs_epi16(high, broadcast_u32(xq + 16)));
                pairs[h][t] = quad == 0 ? both : _mm256_add_epi16(pairs[h][t], both);
              }
            }
          }
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h)
#pragma GCC unroll 8
            for (int t = 0; t < T; ++t) {
              dot[g][h][t] = _mm256_add_epi32(dot[g][h][t],
                                              _mm256_madd_epi16(pairs[h][t], _mm256_set1_epi16(1)));
            }
        } else {
          const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
#pragma GCC unroll 8
          for (int quad = 0; quad < 8; ++quad) {
#pragma GCC unroll 2
            for (int h = 0; h < 2; ++h) {
              const __m256i q = _mm256_xor_si256(
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + quad * 64 + h * 32)),
                  flip);
              const __m256i magnitude = _mm256_abs_epi8(q);
#pragma GCC unroll 8
              for (int t = 0; t < T; ++t) {
                const __m256i xv = broadcast_u32(x[t].quants + b * kQuantBlock + quad * 4);
                dot[g][h][t] = dot_add(dot[g][h][t], magnitude, _mm256_sign_epi8(xv, q));
              }
            }
          }
        }
        const __m256 weight_scale[2] = {block_scales(weights[g], scales_at, super_scales_at, b, 0),
                                        block_scales(weights[g], scales_at, super_scales_at, b, 1)};
        __m256 weight_min[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        if constexpr (kMin) {
          weight_min[0] = block_scales(weights[g], mins_at, super_mins_at, b, 0);
          weight_min[1] = block_scales(weights[g], mins_at, super_mins_at, b, 1);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const __m256 x_scale = _mm256_set1_ps(x[t].scales[b]);
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(dot[g][h][t]), weight_scale[h]);
            if constexpr (kMin) {
              const __m256 x_sum = _mm256_set1_ps(static_cast<float>(x[t].biases[b]));
              scaled = _mm256_fmadd_ps(weight_min[h], x_sum, scaled);
            }
            sum[g][h][t] = _mm256_fmadd_ps(scaled, x_scale, sum[g][h][t]);
          }
        }
      }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        store_outputs(job, group0 + g, token0 + t, sum[g][0][t], sum[g][1][t]);
      }
  }
};

// The layouts with a scale per half block, one accumulator per half:
//   q6_K: the low nibbles as q4_0's with each value's top 2 bits put back from the planes,
//         q = 0..63 multiplied unsigned; each accumulator started at its bias;
//   q2_K: q = 0..3 from its 2-bit fields, accumulators started at 0; each half's min times
//         its sum of x added with the scales.
template <TensorType kType>
struct HalfBlockKernel {
  using Job = MatmulJob;
  static constexpr bool kQ2 = kType == TensorType::q2_K;
  static constexpr size_t kBlockBytes = layout::quant_block_bytes(kType);

  static __m256i dot_add(__m256i dot, __m256i u, __m256i s) {
    return _mm256_add_epi32(dot,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }

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
    // Rows 8h .. 8h + 7's scales of block b.
    auto half_scales = [&](const std::byte* group, size_t at, int64_t b, int h) {
      if constexpr (kSuper) {
        const __m256 small = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(
            reinterpret_cast<const __m128i*>(group + at + static_cast<size_t>(b * 16 + h * 8)))));
        return _mm256_mul_ps(
            small,
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + super_at) +
                                            (b * kQuantBlock / kSuperBlock) * 2 + h)));
      } else {
        return _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + at) + b * 2 + h));
      }
    };
    const std::byte* weights[G];
    layout::QuantActivationRow x[T];
    __m256 sum[G][2][T];
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) weights[g] = group_weights(job, group0 + g);
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      x[t] = layout::quant_activation_row(token_activations(job, token0 + t), job.cols);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) sum[g][0][t] = sum[g][1][t] = _mm256_setzero_ps();
    }
    const __m256i nibble = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(0x03),
                  two_high = _mm256_set1_epi8(0x0c);
    for (int64_t b = 0; b < blocks; ++b) {
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        const std::byte* block = weights[g] + b * kBlockBytes;
        const char* ahead = reinterpret_cast<const char*>(block + 8 * kBlockBytes);
#pragma GCC unroll 6
        for (size_t line = 0; line < kBlockBytes; line += 64)
          _mm_prefetch(ahead + line, _MM_HINT_T0);
        __m256i dot[2][2][T];  // [rows 0-7 | 8-15][value half][token]
#pragma GCC unroll 2
        for (int t = 0; t < T; ++t) {
          const __m256i first =
              kQ2 ? _mm256_setzero_si256() : _mm256_set1_epi32(x[t].biases[2 * b]);
          const __m256i second =
              kQ2 ? _mm256_setzero_si256() : _mm256_set1_epi32(x[t].biases[2 * b + 1]);
          dot[0][0][t] = dot[1][0][t] = first;
          dot[0][1][t] = dot[1][1][t] = second;
        }
#pragma GCC unroll 4
        for (int quad = 0; quad < 4; ++quad) {
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            __m256i low, high;
            if constexpr (kQ2) {
              // Bits 2 * quad of each byte (16-bit shifts: the byte's own bits stay below 0x03).
              const __m128i shift = _mm_cvtsi32_si128(2 * quad);
              low = _mm256_and_si256(
                  _mm256_srl_epi16(
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + h * 32)), shift),
                  two);
              high = _mm256_and_si256(
                  _mm256_srl_epi16(
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 64 + h * 32)),
                      shift),
                  two);
            } else {
              const __m256i packed =
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + quad * 64 + h * 32));
              __m256i top = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                  block + layout::kPlanesOffset + (quad % 2) * 64 + h * 32));
              if (quad >= 2) top = _mm256_srli_epi16(top, 4);
              low = _mm256_or_si256(_mm256_and_si256(packed, nibble),
                                    _mm256_slli_epi16(_mm256_and_si256(top, two), 4));
              high = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble),
                                     _mm256_slli_epi16(_mm256_and_si256(top, two_high), 2));
            }
#pragma GCC unroll 2
            for (int t = 0; t < T; ++t) {
              const int8_t* xq = x[t].quants + b * kQuantBlock + quad * 4;
              dot[h][0][t] = dot_add(dot[h][0][t], low, broadcast_u32(xq));
              dot[h][1][t] = dot_add(dot[h][1][t], high, broadcast_u32(xq + 16));
            }
          }
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const __m256 first_scale = half_scales(weights[g], first_scales, b, h);
          const __m256 second_scale = half_scales(weights[g], second_scales, b, h);
          __m256 first_min = _mm256_setzero_ps(), second_min = _mm256_setzero_ps();
          if constexpr (kQ2) {
            first_min = _mm256_cvtph_ps(_mm_loadu_si128(
                reinterpret_cast<const __m128i*>(weights[g] + first_mins) + b * 2 + h));
            second_min = _mm256_cvtph_ps(_mm_loadu_si128(
                reinterpret_cast<const __m128i*>(weights[g] + second_mins) + b * 2 + h));
          }
#pragma GCC unroll 2
          for (int t = 0; t < T; ++t) {
            __m256 scaled =
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[h][1][t]), second_scale,
                                _mm256_mul_ps(_mm256_cvtepi32_ps(dot[h][0][t]), first_scale));
            if constexpr (kQ2) {
              scaled = _mm256_fmadd_ps(
                  first_min, _mm256_set1_ps(static_cast<float>(x[t].biases[2 * b])), scaled);
              scaled = _mm256_fmadd_ps(
                  second_min, _mm256_set1_ps(static_cast<float>(x[t].biases[2 * b + 1])), scaled);
            }
            sum[g][h][t] = _mm256_fmadd_ps(scaled, _mm256_set1_ps(x[t].scales[b]), sum[g][h][t]);
          }
        }
      }
    }
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 2
      for (int t = 0; t < T; ++t)
        store_outputs(job, group0 + g, token0 + t, sum[g][0][t], sum[g][1][t]);
  }
};

template <TensorType kType>
void run_quantized(const MatmulJob& job, int64_t tokens) {
  // Decode streams several groups at once (more memory requests in flight); prefill reuses
  // each loaded weight vector for 2 tokens, as many as 16 registers allow.
  if (tokens == 1) {
    run_tiles<QuantKernel<kType>, 2, 1>(job, first_group(job), end_group(job), tokens);
  } else {
    run_tiles<QuantKernel<kType>, 1, 2>(job, first_group(job), end_group(job), tokens);
  }
}

template <TensorType kType>
void run_half_blocks(const MatmulJob& job, int64_t tokens) {
  if (tokens == 1) {
    run_tiles<HalfBlockKernel<kType>, 2, 1>(job, first_group(job), end_group(job), tokens);
  } else {
    run_tiles<HalfBlockKernel<kType>, 1, 2>(job, first_group(job), end_group(job), tokens);
  }
}

}  // namespace

void matmul_quantized(const PackedWeights& w, const MatmulJob& job, int64_t tokens) {
  if (w.type() == TensorType::q8_0) {
    run_quantized<TensorType::q8_0>(job, tokens);
  } else if (w.type() == TensorType::q4_1) {
    run_quantized<TensorType::q4_1>(job, tokens);
  } else if (w.type() == TensorType::q4_K) {
    run_quantized<TensorType::q4_K>(job, tokens);
  } else if (w.type() == TensorType::iq4_nl) {
    run_quantized<TensorType::iq4_nl>(job, tokens);
  } else if (w.type() == TensorType::q5_0) {
    run_quantized<TensorType::q5_0>(job, tokens);
  } else if (w.type() == TensorType::q5_1) {
    run_quantized<TensorType::q5_1>(job, tokens);
  } else if (w.type() == TensorType::q6_K) {
    run_half_blocks<TensorType::q6_K>(job, tokens);
  } else if (w.type() == TensorType::q2_K) {
    run_half_blocks<TensorType::q2_K>(job, tokens);
  } else {
    run_quantized<TensorType::q4_0>(job, tokens);
  }
}

}  // namespace hearth::cpu::avx2
