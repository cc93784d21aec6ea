// Launchers of the CUDA backend's kernels (cuda_kernels.cu), callable from host C++ that
// never sees CUDA syntax. Every launcher queues its kernel on `stream` and returns; all
// pointers are device pointers unless named `host`. Activations are f32 rows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/device_formats.h"
#include "cuda/gpu_vendor.h"

namespace hearth::HEARTH_GPU_NAMESPACE {

// y[t] = W x[t] for `tokens` rows of x (stride cols) into y (stride rows): a warp per output
// row and up to 8 tokens at a time for few tokens (decode), tiles through shared memory for
// many (prefill). Accumulates in f32.
void launch_matmul(DeviceFormat format, const uint8_t* w, int64_t rows, int64_t cols,
                   const float* x, int64_t tokens, float* y, cudaStream_t stream);

// out[t] = row tokens[t] of `table` (rows of `cols` values) as f32.
void launch_embed(DeviceFormat format, const uint8_t* table, int64_t cols, const int32_t* tokens,
                  int64_t count, float* out, cudaStream_t stream);

void launch_rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim, float eps,
                     float* out, cudaStream_t stream);
void launch_add_bias(float* x, const float* bias, int64_t tokens, int64_t dim, cudaStream_t stream);
void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream);
void launch_swiglu(const float* gate, const float* up, int64_t count, float* out,
                   cudaStream_t stream);

// Rotates the first rope_dims of every head of q ([rows][q_heads * head_dim]) and k by row
// r's angles: cos_sin[(r * half + i) * 2] and [... + 1] for pair i (half = rope_dims / 2).
void launch_rope(float* q, int32_t q_heads, float* k, int32_t k_heads, int32_t head_dim,
                 int32_t rope_dims, bool neox, const float* cos_sin, int64_t rows,
                 cudaStream_t stream);

// Writes row r of k and v ([rows][kv_heads * head_dim]) at slots[r] of a layer's storage.
void launch_kv_store(void* layer, KvLayerGeometry geometry, bool f16, const float* k,
                     const float* v, const int32_t* slots, int64_t rows, cudaStream_t stream);

// The pass's batch as the attention kernel reads it.
struct AttentionBatch {
  const int32_t* positions;
  const int32_t* table_offsets;
  const int32_t* tables;
  int64_t rows;
  int32_t max_context;  // the largest positions[r] + 1
};

// Causal attention of each row over its sequence (see backend.h), rows [row_begin, row_end)
// per launch so `scores` holds (row_end - row_begin) * q_heads * max_context floats.
void launch_attention(const void* layer, KvLayerGeometry geometry, bool f16, const float* q,
                      int32_t q_heads, float* out, const AttentionBatch& batch, int64_t row_begin,
                      int64_t row_end, int32_t window, float* scores, cudaStream_t stream);

// out[r] = x[rows[r]] for r < count, rows of `dim` (out must not alias x).
void launch_gather_rows(const float* x, int64_t dim, const int32_t* rows, int64_t count, float* out,
                        cudaStream_t stream);

// A sequence's positions [0, tokens) of one layer to or from the canonical form
// (KvLayerGeometry::canonical_index); `canonical` holds 2 * tokens * kv_heads * head_dim
// elements of the storage's type.
void launch_kv_to_canonical(const void* layer, KvLayerGeometry geometry, bool f16,
                            const int32_t* table, int32_t tokens, void* canonical,
                            cudaStream_t stream);
void launch_kv_from_canonical(void* layer, KvLayerGeometry geometry, bool f16, const int32_t* table,
                              int32_t tokens, const void* canonical, cudaStream_t stream);

}  // namespace hearth::HEARTH_GPU_NAMESPACE
