// What one matmul call computes, in the form the SIMD tile kernels read it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/kernels/kernel_isa.h"
#include "cpu/kernels/matmul.h"
#include "cpu/kernels/packed_layout.h"

namespace hearth::cpu {
inline namespace HEARTH_KERNEL_ISA {

struct MatmulJob {
  const std::byte* weights;  // group 0
  size_t group_stride;
  int64_t cols;  // padded columns (packed_layout.h)
  const std::byte* activations;
  size_t activation_stride;
  float* y;
  int64_t ldy;
  int64_t row_begin, row_end;
};

inline MatmulJob make_matmul_job(const PackedWeights& w, const ActivationBuffer& x, float* y,
                                 int64_t ldy, int64_t row_begin, int64_t row_end) {
  return {w.data(), w.group_stride(), layout::padded_cols(w.type(), w.cols()),
          x.data(), x.row_stride(),   y,
          ldy,      row_begin,        row_end};
}

inline const std::byte* group_weights(const MatmulJob& job, int64_t group) {
  return job.weights + static_cast<size_t>(group) * job.group_stride;
}

inline const std::byte* token_activations(const MatmulJob& job, int64_t token) {
  return job.activations + static_cast<size_t>(token) * job.activation_stride;
}

// First and last-plus-one row group touched by the job's row range.
inline int64_t first_group(const MatmulJob& job) { return job.row_begin / layout::kGroupRows; }
inline int64_t end_group(const MatmulJob& job) { return layout::group_count(job.row_end); }

}  // namespace HEARTH_KERNEL_ISA
}  // namespace hearth::cpu
