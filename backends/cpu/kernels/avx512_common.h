// Pieces shared by the AVX-512 kernel files (compiled with AVX-512 flags only).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cpu/kernels/matmul_job.h"

namespace hearth::cpu::avx512 {

// Lanes of a group's 16 outputs that fall inside [row_begin, row_end).
inline __mmask16 row_mask(const MatmulJob& job, int64_t group) {
  const int64_t first = group * layout::kGroupRows;
  const int64_t lo = std::max<int64_t>(job.row_begin - first, 0);
  const int64_t hi = std::min<int64_t>(job.row_end - first, layout::kGroupRows);
  return static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// Writes (or adds) 16 outputs of one group for one token.
inline void store_outputs(const MatmulJob& job, int64_t group, int64_t token, __m512 values,
                          bool accumulate = false) {
  float* out = job.y + token * job.ldy + group * layout::kGroupRows;
  const __mmask16 mask = row_mask(job, group);
  if (mask == 0xffff) {
    if (accumulate) values = _mm512_add_ps(values, _mm512_loadu_ps(out));
    _mm512_storeu_ps(out, values);
  } else {
    if (accumulate) values = _mm512_add_ps(values, _mm512_maskz_loadu_ps(mask, out));
    _mm512_mask_storeu_ps(out, mask, values);
  }
}

// Four consecutive int8 (or two bf16) activations broadcast to every 32-bit lane.
inline __m512i broadcast_u32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

void matmul_float(const PackedWeights& w, const MatmulJob& job, int64_t tokens);
void matmul_quantized(const PackedWeights& w, const MatmulJob& job, int64_t tokens);

}  // namespace hearth::cpu::avx512
