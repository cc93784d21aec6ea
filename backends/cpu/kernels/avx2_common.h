// Pieces shared by the AVX2 kernel files (compiled with AVX2/FMA/F16C flags only). A row
// group's 16 outputs live in two 8-lane vectors: rows 0..7 and rows 8..15.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cpu/kernels/matmul_job.h"

namespace hearth::cpu::avx2 {

// Writes (overwrites) the 16 outputs of one group for one token, skipping rows outside
// [row_begin, row_end).
inline void store_outputs(const MatmulJob& job, int64_t group, int64_t token, __m256 low,
                          __m256 high) {
  const int64_t first = group * layout::kGroupRows;
  float* out = job.y + token * job.ldy + first;
  if (first >= job.row_begin && first + layout::kGroupRows <= job.row_end) {
    _mm256_storeu_ps(out, low);
    _mm256_storeu_ps(out + 8, high);
    return;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i begin = _mm256_set1_epi32(static_cast<int>(job.row_begin - first));
  const __m256i end = _mm256_set1_epi32(static_cast<int>(job.row_end - first));
  auto inside = [&](__m256i rows) {  // begin <= rows < end, as all-ones lanes
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(begin, rows), _mm256_cmpgt_epi32(end, rows));
  };
  _mm256_maskstore_ps(out, inside(lane), low);
  _mm256_maskstore_ps(out + 8, inside(_mm256_add_epi32(lane, _mm256_set1_epi32(8))), high);
}

// Four consecutive int8 activations broadcast to every 32-bit lane.
inline __m256i broadcast_u32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

void matmul_float(const PackedWeights& w, const MatmulJob& job, int64_t tokens);
void matmul_quantized(const PackedWeights& w, const MatmulJob& job, int64_t tokens);

}  // namespace hearth::cpu::avx2
