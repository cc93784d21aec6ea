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

// Token count from which the f16/bf16 paths switch to bf16 activations and vdpbf16ps
// (AVX-512 only): twice the multiply rate of f32 FMA, at bf16 precision.
inline constexpr int64_t kBf16MinTokens = 8;

}  // namespace hearth::cpu
