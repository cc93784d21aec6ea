// Entry points of each instruction-set path; matmul_dispatch.cpp picks one at run time.
// Callers have already validated the arguments. Every path reads and writes the same
// layouts (packed_layout.h), so prepared activations do not depend on the path used.
#pragma once

#include <cstdint>

#include "cpu/kernels/matmul.h"

namespace hearth::cpu {

#define HEARTH_DECLARE_MATMUL_PATH(ns)                                                     \
  namespace ns {                                                                           \
  void prepare_activations(const PackedWeights& w, const float* x, int64_t ldx,            \
                           ActivationBuffer& buffer, int64_t t_begin, int64_t t_end);      \
  void matmul(const PackedWeights& w, const ActivationBuffer& x, int64_t tokens, float* y, \
              int64_t ldy, int64_t row_begin, int64_t row_end);                            \
  }

HEARTH_DECLARE_MATMUL_PATH(reference)
HEARTH_DECLARE_MATMUL_PATH(avx2)
HEARTH_DECLARE_MATMUL_PATH(avx512)

#undef HEARTH_DECLARE_MATMUL_PATH

// Token count from which the AVX-512 path multiplies f16/bf16 weights with bf16 activations
// and vdpbf16ps (twice the f32 FMA rate, at bf16 precision) instead of f32 FMA. bf16 weights
// gain from 2 tokens on; f16 weights first need converting to bf16, which pays off from 4.
inline constexpr int64_t bf16_min_tokens(TensorType type) {
  return type == TensorType::bf16 ? 2 : 4;
}

}  // namespace hearth::cpu
