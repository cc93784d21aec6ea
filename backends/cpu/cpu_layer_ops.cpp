// Elementwise and per-row layer ops of the CPU backend. They are memory-light next to the
// matmuls, so they stay simple loops; target_clones lets the compiler vectorise each for
// AVX-512 and AVX2 while the library still runs on any x86-64.
#include <cmath>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "hearth/fast_exp.hpp"
#include "hearth/vector_clones.hpp"

namespace hearth::cpu {
namespace {

HEARTH_VECTOR_CLONES void rms_norm_row(const float* x, const float* w, int64_t dim, float eps,
                                       float* out) {
  // A single running sum is one long dependency chain the compiler may not reorder; 64
  // partial sums let it become four independent vector accumulators.
  constexpr int64_t kLanes = 64;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= dim; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j] * x[i + j];
  float sum = 0.0f;
  for (; i < dim; ++i) sum += x[i] * x[i];
  for (int64_t j = 0; j < kLanes; ++j) sum += lanes[j];
  float scale = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * scale * w[i];
}

HEARTH_VECTOR_CLONES void add_rows(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

HEARTH_VECTOR_CLONES void swiglu_rows(const float* gate, const float* up, int64_t count,
                                      float* out) {
  for (int64_t i = 0; i < count; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + sdk::fast_exp(-g)) * up[i];
  }
}

// Rotation of one head by one token's angles (cos_table[i], sin_table[i] for pair i).
void rope_head(float* head, int32_t rope_dims, const float* cos_table, const float* sin_table,
               bool neox) {
  int32_t half = rope_dims / 2;
  if (!neox) {
    for (int32_t i = 0; i < half; ++i) {
      float a = head[2 * i], b = head[2 * i + 1];
      head[2 * i] = a * cos_table[i] - b * sin_table[i];
      head[2 * i + 1] = a * sin_table[i] + b * cos_table[i];
    }
  } else {
    for (int32_t i = 0; i < half; ++i) {
      float a = head[i], b = head[i + half];
      head[i] = a * cos_table[i] - b * sin_table[i];
      head[i + half] = a * sin_table[i] + b * cos_table[i];
    }
  }
}

// Work below this many values runs on the calling thread: waking the pool costs more.
constexpr int64_t kParallelThreshold = 16384;

}  // namespace

void CpuBackend::rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim,
                          float eps, float* out) {
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      rms_norm_row(x + t * dim, weight, dim, eps, out + t * dim);
  };
  if (tokens * dim < kParallelThreshold) {
    rows(0, tokens);
  } else {
    pool_.parallel_for(tokens, 1, rows);
  }
}

void CpuBackend::add_bias(float* x, const float* bias, int64_t tokens, int64_t dim) {
  for (int64_t t = 0; t < tokens; ++t) add_rows(x + t * dim, bias, dim);
}

void CpuBackend::add(float* x, const float* y, int64_t count) {
  if (count < kParallelThreshold) {
    add_rows(x, y, count);
  } else {
    pool_.parallel_for(count, 16, [&](int64_t b, int64_t e) { add_rows(x + b, y + b, e - b); });
  }
}

void CpuBackend::swiglu(const float* gate, const float* up, int64_t count, float* out) {
  if (count < kParallelThreshold) {
    swiglu_rows(gate, up, count, out);
  } else {
    pool_.parallel_for(
        count, 16, [&](int64_t b, int64_t e) { swiglu_rows(gate + b, up + b, e - b, out + b); });
  }
}

void CpuBackend::rope(float* q, int32_t q_heads, float* k, int32_t k_heads,
                      const backend::RopeParams& rope) {
  const int32_t head_dim = rope.head_dim, rope_dims = rope.rope_dims, half = rope_dims / 2;
  const auto positions = pass_.positions;
  // Every layer of a pass rotates by the same angles: the tables are built by the first.
  RopeTables& tables = rope_tables_;
  if (!tables.valid || tables.theta != rope.theta || tables.rope_dims != rope_dims ||
      tables.freq_factors != rope.freq_factors || tables.position_scale != rope.position_scale) {
    tables.cos.resize(positions.size() * half);
    tables.sin.resize(positions.size() * half);
    for (int32_t i = 0; i < half; ++i) {
      double freq = std::pow(double(rope.theta), -2.0 * i / rope_dims);
      if (rope.freq_factors) freq /= rope.freq_factors[i];
      for (size_t t = 0; t < positions.size(); ++t) {
        const double angle = double(positions[t]) * rope.position_scale * freq;
        tables.cos[t * half + i] = static_cast<float>(std::cos(angle));
        tables.sin[t * half + i] = static_cast<float>(std::sin(angle));
      }
    }
    tables.valid = true;
    tables.theta = rope.theta;
    tables.rope_dims = rope_dims;
    tables.freq_factors = rope.freq_factors;
    tables.position_scale = rope.position_scale;
  }
  for (size_t t = 0; t < positions.size(); ++t) {
    const float* cos_table = tables.cos.data() + t * half;
    const float* sin_table = tables.sin.data() + t * half;
    for (int32_t h = 0; h < q_heads; ++h) {
      rope_head(q + (t * q_heads + h) * head_dim, rope_dims, cos_table, sin_table, rope.neox);
    }
    for (int32_t h = 0; h < k_heads; ++h) {
      rope_head(k + (t * k_heads + h) * head_dim, rope_dims, cos_table, sin_table, rope.neox);
    }
  }
}

void CpuBackend::gather_rows(const float* x, int64_t dim, float* out) {
  // Rows ascend, so with out == x each row moves down over rows already moved.
  for (size_t r = 0; r < pass_.logit_rows.size(); ++r) {
    const float* row = x + pass_.logit_rows[r] * dim;
    if (row != out + r * dim) std::memmove(out + r * dim, row, dim * sizeof(float));
  }
}

}  // namespace hearth::cpu
