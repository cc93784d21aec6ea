// The CUDA backend's kernels. This first version aims at being right on every format and
// shape the conformance suite checks, with the memory access of decode (a warp streaming each
// weight row once) in place; tensor-core GEMM, fused quantized dot products and flash-decoding
// splits are the next steps and change only this file.
#include <cmath>

#include "cuda/cuda_kernels.h"
#include "cuda/gpu_vendor.h"

namespace hearth::HEARTH_GPU_NAMESPACE {
namespace {

constexpr int kWarp = 32;
constexpr int kMaxTokensPerWarp = 8;  // decode: tokens a warp's row serves at once
constexpr int kMaxHeadDim = 256;

__device__ float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The sum (or maximum) of one value per thread over the whole block; every thread gets it.
__device__ float block_reduce(float v, bool maximum, float* scratch) {
  auto combine = [maximum](float a, float b) { return maximum ? fmaxf(a, b) : a + b; };
  for (int o = kWarp / 2; o > 0; o /= 2) v = combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  __syncthreads();  // the scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + kWarp - 1) / kWarp;
  v = lane < warps ? scratch[lane] : (maximum ? -INFINITY : 0.0f);
  for (int o = kWarp / 2; o > 0; o /= 2) v = combine(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ float load_kv(const void* layer, size_t i, bool f16) {
  if (f16) return __half2float(static_cast<const __half*>(layer)[i]);
  return static_cast<const float*>(layer)[i];
}

__device__ void store_kv(void* layer, size_t i, bool f16, float v) {
  if (f16) {
    static_cast<__half*>(layer)[i] = __float2half_rn(v);
  } else {
    static_cast<float*>(layer)[i] = v;
  }
}

unsigned grid_for(int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

// --- matmul ---

// One warp per output row; each lane takes every 32nd column (float formats) or block of 32
// (quantized), for up to kMaxTokensPerWarp tokens.
template <DeviceFormat F>
__global__ void matvec_kernel(const uint8_t* w, int64_t rows, int64_t cols, const float* x,
                              int tokens, float* y) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= rows) return;
  const uint8_t* wr = w + size_t(row) * row_bytes(F, cols);
  float acc[kMaxTokensPerWarp] = {};
  if constexpr (F == DeviceFormat::q8_0 || F == DeviceFormat::q4_0) {
    for (int64_t b = lane; b < cols / kBlockValues; b += kWarp) {
      float q[kBlockValues];
      const float d = block_quants(F, wr, b, q);
#pragma unroll
      for (int t = 0; t < kMaxTokensPerWarp; ++t) {
        if (t < tokens) {
          const float* xb = x + t * cols + b * kBlockValues;
          float s = 0.0f;
#pragma unroll
          for (int j = 0; j < kBlockValues; ++j) s += q[j] * xb[j];
          acc[t] += d * s;
        }
      }
    }
  } else {
    for (int64_t k = lane; k < cols; k += kWarp) {
      const float wv = weight_value(F, wr, k);
#pragma unroll
      for (int t = 0; t < kMaxTokensPerWarp; ++t) {
        if (t < tokens) acc[t] += wv * x[t * cols + k];
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kMaxTokensPerWarp; ++t) {
    if (t < tokens) {
      const float s = warp_sum(acc[t]);
      if (lane == 0) y[t * rows + row] = s;
    }
  }
}

// Tiles of 64 rows x 64 tokens, 32 columns at a time through shared memory; each of the 256
// threads accumulates 4 x 4 outputs (rows ty + 16 i, tokens tx + 16 j).
constexpr int kTile = 64, kTileK = 32;

template <DeviceFormat F>
__global__ void gemm_kernel(const uint8_t* w, int64_t rows, int64_t cols, const float* x,
                            int64_t tokens, float* y) {
  __shared__ float ws[kTile][kTileK + 1];
  __shared__ float xs[kTile][kTileK + 1];
  const int64_t row0 = int64_t(blockIdx.x) * kTile, token0 = int64_t(blockIdx.y) * kTile;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const size_t stride = row_bytes(F, cols);
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < cols; k0 += kTileK) {
    for (int i = threadIdx.x; i < kTile * kTileK; i += blockDim.x) {
      const int r = i / kTileK, kk = i % kTileK;
      const int64_t k = k0 + kk, row = row0 + r, token = token0 + r;
      ws[r][kk] = row < rows && k < cols ? weight_value(F, w + size_t(row) * stride, k) : 0.0f;
      xs[r][kk] = token < tokens && k < cols ? x[token * cols + k] : 0.0f;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kTileK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = ws[ty + 16 * i][kk];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = xs[tx + 16 * j][kk];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t row = row0 + ty + 16 * i, token = token0 + tx + 16 * j;
      if (row < rows && token < tokens) y[token * rows + row] = acc[i][j];
    }
  }
}

template <DeviceFormat F>
void matmul_as(const uint8_t* w, int64_t rows, int64_t cols, const float* x, int64_t tokens,
               float* y, cudaStream_t stream) {
  if (tokens <= 4 * kMaxTokensPerWarp) {
    constexpr int kThreads = 128;  // four rows a block
    for (int64_t t = 0; t < tokens; t += kMaxTokensPerWarp) {
      const int n =
          static_cast<int>(tokens - t < kMaxTokensPerWarp ? tokens - t : kMaxTokensPerWarp);
      matvec_kernel<F><<<grid_for(rows, kThreads / kWarp), kThreads, 0, stream>>>(
          w, rows, cols, x + t * cols, n, y + t * rows);
    }
    return;
  }
  const dim3 grid(grid_for(rows, kTile), grid_for(tokens, kTile));
  gemm_kernel<F><<<grid, 256, 0, stream>>>(w, rows, cols, x, tokens, y);
}

// --- lookups and element-wise ops ---

template <DeviceFormat F>
__global__ void embed_kernel(const uint8_t* table, int64_t cols, const int32_t* tokens,
                             float* out) {
  const uint8_t* row = table + size_t(tokens[blockIdx.x]) * row_bytes(F, cols);
  for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) {
    out[int64_t(blockIdx.x) * cols + k] = weight_value(F, row, k);
  }
}

__global__ void rms_norm_kernel(const float* x, const float* weight, int64_t dim, float eps,
                                float* out) {
  __shared__ float scratch[kWarp];
  const float* row = x + int64_t(blockIdx.x) * dim;
  float squares = 0.0f;
  for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) squares += row[k] * row[k];
  const float total = block_reduce(squares, false, scratch);
  const float scale = 1.0f / sqrtf(total / static_cast<float>(dim) + eps);
  for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) {
    out[int64_t(blockIdx.x) * dim + k] = row[k] * scale * weight[k];
  }
}

__global__ void add_bias_kernel(float* x, const float* bias, int64_t count, int64_t dim) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) x[i] += bias[i % dim];
}

__global__ void add_kernel(float* x, const float* y, int64_t count) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) x[i] += y[i];
}

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t count, float* out) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

// One thread per (row, head of q then k, pair).
__global__ void rope_kernel(float* q, int32_t q_heads, float* k, int32_t k_heads, int32_t head_dim,
                            int32_t half, bool neox, const float* cos_sin, int64_t rows) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t heads = q_heads + k_heads;
  if (i >= rows * heads * half) return;
  const int64_t r = i / (heads * half);
  const auto head = static_cast<int32_t>(i / half % heads);
  const auto pair = static_cast<int32_t>(i % half);
  float* v = head < q_heads ? q + (r * q_heads + head) * head_dim
                            : k + (r * k_heads + head - q_heads) * head_dim;
  const int32_t first = neox ? pair : 2 * pair, second = neox ? pair + half : 2 * pair + 1;
  const float c = cos_sin[(r * half + pair) * 2], s = cos_sin[(r * half + pair) * 2 + 1];
  const float a = v[first], b = v[second];
  v[first] = a * c - b * s;
  v[second] = a * s + b * c;
}

__global__ void kv_store_kernel(void* layer, KvLayerGeometry g, bool f16, const float* k,
                                const float* v, const int32_t* slots, int64_t rows) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t row_elements = int64_t(g.kv_heads) * g.head_dim;
  if (i >= rows * row_elements) return;
  const int64_t r = i / row_elements;
  const auto head = static_cast<int32_t>(i % row_elements / g.head_dim);
  const auto d = static_cast<int32_t>(i % g.head_dim);
  const int32_t block = slots[r] / g.block_tokens, offset = slots[r] % g.block_tokens;
  store_kv(layer, g.index(0, head, block, offset, d), f16, k[i]);
  store_kv(layer, g.index(1, head, block, offset, d), f16, v[i]);
}

// One block per (row, query head): scores of every visible position into `scores`, their
// softmax, then each thread one output dimension summed over the positions.
__global__ void attention_kernel(const void* layer, KvLayerGeometry g, bool f16, const float* q,
                                 int32_t q_heads, float* out, AttentionBatch b, int64_t row0,
                                 int32_t window, float* all_scores) {
  __shared__ float query[kMaxHeadDim];
  __shared__ float scratch[kWarp];
  const int64_t r = row0 + blockIdx.x;
  const int32_t h = blockIdx.y, kv_head = h / (q_heads / g.kv_heads), hd = g.head_dim;
  const int32_t context = b.positions[r] + 1;
  const int32_t first = window > 0 ? max(0, context - window) : 0;
  const int32_t* table = b.tables + b.table_offsets[r];
  float* scores = all_scores + (size_t(blockIdx.x) * q_heads + h) * b.max_context;
  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    query[d] = q[(r * q_heads + h) * hd + d] * scale;
  }
  __syncthreads();
  float largest = -INFINITY;
  for (int32_t p = first + threadIdx.x; p < context; p += blockDim.x) {
    const size_t key = g.index(0, kv_head, table[p / g.block_tokens], p % g.block_tokens, 0);
    float s = 0.0f;
    for (int d = 0; d < hd; ++d) s += query[d] * load_kv(layer, key + d, f16);
    scores[p] = s;
    largest = fmaxf(largest, s);
  }
  largest = block_reduce(largest, true, scratch);
  float sum = 0.0f;
  for (int32_t p = first + threadIdx.x; p < context; p += blockDim.x) {
    const float e = expf(scores[p] - largest);
    scores[p] = e;
    sum += e;
  }
  sum = block_reduce(sum, false, scratch);  // also orders the writes above before the reads below
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int32_t p = first; p < context; ++p) {
      acc += scores[p] *
             load_kv(layer, g.index(1, kv_head, table[p / g.block_tokens], p % g.block_tokens, d),
                     f16);
    }
    out[(r * q_heads + h) * hd + d] = acc / sum;
  }
}

__global__ void gather_rows_kernel(const float* x, int64_t dim, const int32_t* rows, int64_t count,
                                   float* out) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count * dim) out[i] = x[int64_t(rows[i / dim]) * dim + i % dim];
}

template <typename T>
__global__ void kv_canonical_kernel(T* layer, KvLayerGeometry g, const int32_t* table,
                                    int32_t tokens, T* canonical, bool to_canonical) {
  const size_t e = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= size_t(2) * tokens * g.kv_heads * g.head_dim) return;
  const size_t at = g.canonical_index(table, tokens, e);
  if (to_canonical) {
    canonical[e] = layer[at];
  } else {
    layer[at] = canonical[e];
  }
}

void kv_canonical(void* layer, KvLayerGeometry g, bool f16, const int32_t* table, int32_t tokens,
                  void* canonical, bool to_canonical, cudaStream_t stream) {
  const int64_t n = int64_t(2) * tokens * g.kv_heads * g.head_dim;
  if (n == 0) return;
  if (f16) {
    kv_canonical_kernel<uint16_t>
        <<<grid_for(n, 256), 256, 0, stream>>>(static_cast<uint16_t*>(layer), g, table, tokens,
                                               static_cast<uint16_t*>(canonical), to_canonical);
  } else {
    kv_canonical_kernel<float><<<grid_for(n, 256), 256, 0, stream>>>(
        static_cast<float*>(layer), g, table, tokens, static_cast<float*>(canonical), to_canonical);
  }
}

}  // namespace

void launch_matmul(DeviceFormat format, const uint8_t* w, int64_t rows, int64_t cols,
                   const float* x, int64_t tokens, float* y, cudaStream_t stream) {
  switch (format) {
    case DeviceFormat::f32:
      return matmul_as<DeviceFormat::f32>(w, rows, cols, x, tokens, y, stream);
    case DeviceFormat::f16:
      return matmul_as<DeviceFormat::f16>(w, rows, cols, x, tokens, y, stream);
    case DeviceFormat::bf16:
      return matmul_as<DeviceFormat::bf16>(w, rows, cols, x, tokens, y, stream);
    case DeviceFormat::q8_0:
      return matmul_as<DeviceFormat::q8_0>(w, rows, cols, x, tokens, y, stream);
    case DeviceFormat::q4_0:
      return matmul_as<DeviceFormat::q4_0>(w, rows, cols, x, tokens, y, stream);
  }
}

void launch_embed(DeviceFormat format, const uint8_t* table, int64_t cols, const int32_t* tokens,
                  int64_t count, float* out, cudaStream_t stream) {
  if (count == 0) return;
  const auto n = static_cast<unsigned>(count);
  switch (format) {
    case DeviceFormat::f32:
      return embed_kernel<DeviceFormat::f32><<<n, 256, 0, stream>>>(table, cols, tokens, out);
    case DeviceFormat::f16:
      return embed_kernel<DeviceFormat::f16><<<n, 256, 0, stream>>>(table, cols, tokens, out);
    case DeviceFormat::bf16:
      return embed_kernel<DeviceFormat::bf16><<<n, 256, 0, stream>>>(table, cols, tokens, out);
    case DeviceFormat::q8_0:
      return embed_kernel<DeviceFormat::q8_0><<<n, 256, 0, stream>>>(table, cols, tokens, out);
    case DeviceFormat::q4_0:
      return embed_kernel<DeviceFormat::q4_0><<<n, 256, 0, stream>>>(table, cols, tokens, out);
  }
}

void launch_rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim, float eps,
                     float* out, cudaStream_t stream) {
  if (tokens == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(tokens), 256, 0, stream>>>(x, weight, dim, eps, out);
}

void launch_add_bias(float* x, const float* bias, int64_t tokens, int64_t dim,
                     cudaStream_t stream) {
  const int64_t n = tokens * dim;
  if (n > 0) add_bias_kernel<<<grid_for(n, 256), 256, 0, stream>>>(x, bias, n, dim);
}

void launch_add(float* x, const float* y, int64_t count, cudaStream_t stream) {
  if (count > 0) add_kernel<<<grid_for(count, 256), 256, 0, stream>>>(x, y, count);
}

void launch_swiglu(const float* gate, const float* up, int64_t count, float* out,
                   cudaStream_t stream) {
  if (count > 0) swiglu_kernel<<<grid_for(count, 256), 256, 0, stream>>>(gate, up, count, out);
}

void launch_rope(float* q, int32_t q_heads, float* k, int32_t k_heads, int32_t head_dim,
                 int32_t rope_dims, bool neox, const float* cos_sin, int64_t rows,
                 cudaStream_t stream) {
  const int32_t half = rope_dims / 2;
  const int64_t n = rows * (q_heads + k_heads) * half;
  if (n > 0) {
    rope_kernel<<<grid_for(n, 256), 256, 0, stream>>>(q, q_heads, k, k_heads, head_dim, half, neox,
                                                      cos_sin, rows);
  }
}

void launch_kv_store(void* layer, KvLayerGeometry geometry, bool f16, const float* k,
                     const float* v, const int32_t* slots, int64_t rows, cudaStream_t stream) {
  const int64_t n = rows * geometry.kv_heads * geometry.head_dim;
  if (n > 0) {
    kv_store_kernel<<<grid_for(n, 256), 256, 0, stream>>>(layer, geometry, f16, k, v, slots, rows);
  }
}

void launch_attention(const void* layer, KvLayerGeometry geometry, bool f16, const float* q,
                      int32_t q_heads, float* out, const AttentionBatch& batch, int64_t row_begin,
                      int64_t row_end, int32_t window, float* scores, cudaStream_t stream) {
  if (row_end <= row_begin) return;
  const dim3 grid(static_cast<unsigned>(row_end - row_begin), static_cast<unsigned>(q_heads));
  attention_kernel<<<grid, 128, 0, stream>>>(layer, geometry, f16, q, q_heads, out, batch,
                                             row_begin, window, scores);
}

void launch_gather_rows(const float* x, int64_t dim, const int32_t* rows, int64_t count, float* out,
                        cudaStream_t stream) {
  const int64_t n = count * dim;
  if (n > 0) gather_rows_kernel<<<grid_for(n, 256), 256, 0, stream>>>(x, dim, rows, count, out);
}

void launch_kv_to_canonical(const void* layer, KvLayerGeometry geometry, bool f16,
                            const int32_t* table, int32_t tokens, void* canonical,
                            cudaStream_t stream) {
  kv_canonical(const_cast<void*>(layer), geometry, f16, table, tokens, canonical, true, stream);
}

void launch_kv_from_canonical(void* layer, KvLayerGeometry geometry, bool f16, const int32_t* table,
                              int32_t tokens, const void* canonical, cudaStream_t stream) {
  kv_canonical(layer, geometry, f16, table, tokens, const_cast<void*>(canonical), false, stream);
}

}  // namespace hearth::HEARTH_GPU_NAMESPACE
