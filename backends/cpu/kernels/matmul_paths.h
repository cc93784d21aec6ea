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

// Whether the AVX-512 path multiplies these weights with bf16 activations and vdpbf16ps (twice
// the f32 FMA rate, at bf16 precision) rather than f32 FMA. Decided by the weight type alone,
// never by the number of tokens, so a row's result does not depend on what shares its pass:
// bf16 weights always (their precision is bf16 already), f16 weights never (rounding their
// activations to bf16 only in large batches made batched rows differ from solo ones).
inline constexpr bool avx512_uses_bf16_dot(TensorType type) { return type == TensorType::bf16; }

}  // namespace hearth::cpu
