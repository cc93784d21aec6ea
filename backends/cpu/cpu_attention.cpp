// Attention over the paged KV cache on the CPU. Each (token, query head) pair walks its
// sequence's block table, so forked sequences read shared blocks in place.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/vector_clones.h"

namespace hearth::cpu {
namespace {

// Sixteen independent partial sums let the compiler use one vector FMA per 16 values without
// reassociating a single sum; heads shorter than 16 stay scalar, where that costs nothing.
HEARTH_VECTOR_CLONES float dot(const float* a, const float* b, int32_t n) {
  float sum = 0.0f;
  int32_t i = 0;
  if (n >= 16) {
    float lanes[16] = {};
    for (; i + 16 <= n; i += 16) {
      for (int j = 0; j < 16; ++j) lanes[j] += a[i + j] * b[i + j];
    }
    for (float lane : lanes) sum += lane;
  }
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

HEARTH_VECTOR_CLONES void axpy(float alpha, const float* x, float* y, int32_t n) {
  for (int32_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

struct LayerView {
  const std::byte* base;
  size_t block_bytes;
  size_t layer_offset;
  int32_t block_tokens, head_dim, kv_heads;

  const float* keys(int32_t block, int32_t kv_head) const {
    return reinterpret_cast<const float*>(base + block * block_bytes + layer_offset) +
           static_cast<size_t>(kv_head) * block_tokens * head_dim;
  }
  const float* values(int32_t block, int32_t kv_head) const {
    return keys(block, kv_head) + static_cast<size_t>(kv_heads) * block_tokens * head_dim;
  }
};

LayerView layer_view(const void* cache, const backend::KvGeometry& g, int32_t layer) {
  return {static_cast<const std::byte*>(cache),
          g.block_bytes,
          g.layer_offsets[layer],
          g.block_tokens,
          g.head_dim,
          g.layer_kv_heads[layer]};
}

}  // namespace

void CpuBackend::kv_store(void* cache, const backend::KvGeometry& geometry, int32_t layer,
                          const float* k, const float* v, const backend::KvBatchView& batch) {
  LayerView view = layer_view(cache, geometry, layer);
  const int32_t hd = view.head_dim, row = view.kv_heads * hd;
  for (size_t t = 0; t < batch.slots.size(); ++t) {
    int32_t block = batch.slots[t] / view.block_tokens;
    int32_t offset = batch.slots[t] % view.block_tokens;
    for (int32_t h = 0; h < view.kv_heads; ++h) {
      auto* kd = const_cast<float*>(view.keys(block, h)) + offset * hd;
      auto* vd = const_cast<float*>(view.values(block, h)) + offset * hd;
      std::memcpy(kd, k + t * row + h * hd, hd * sizeof(float));
      std::memcpy(vd, v + t * row + h * hd, hd * sizeof(float));
    }
  }
}

void CpuBackend::attention(const void* cache, const backend::KvGeometry& geometry, int32_t layer,
                           const float* q, int32_t q_heads, const backend::KvBatchView& batch,
                           float* out) {
  LayerView view = layer_view(cache, geometry, layer);
  const int32_t hd = view.head_dim, bt = view.block_tokens;
  const int32_t group = q_heads / view.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t tokens = static_cast<int64_t>(batch.positions.size());
  int32_t max_context = 0;
  for (int32_t p : batch.positions) max_context = std::max(max_context, p + 1);
  for (int i = 0; i < pool_.size(); ++i) attention_scratch(i, max_context);

  const int64_t pairs = tokens * q_heads;
  auto work = [&](int thread, int threads) {
    float* scores = scratch_[thread].data();
    int64_t begin = pairs * thread / threads, end = pairs * (thread + 1) / threads;
    for (int64_t pair = begin; pair < end; ++pair) {
      int64_t t = pair / q_heads;
      int32_t h = static_cast<int32_t>(pair % q_heads), kv_head = h / group;
      const int32_t* table = batch.tables.data() + batch.table_offsets[t];
      const int32_t context = batch.positions[t] + 1;
      const float* qh = q + (t * q_heads + h) * hd;
      float max_score = -INFINITY;
      for (int32_t p = 0; p < context; ++p) {
        const float* key = view.keys(table[p / bt], kv_head) + (p % bt) * hd;
        scores[p] = dot(qh, key, hd) * scale;
        max_score = std::max(max_score, scores[p]);
      }
      float sum = 0.0f;
      for (int32_t p = 0; p < context; ++p) {
        scores[p] = std::exp(scores[p] - max_score);
        sum += scores[p];
      }
      float* oh = out + (t * q_heads + h) * hd;
      std::fill(oh, oh + hd, 0.0f);
      float inv = 1.0f / sum;
      for (int32_t p = 0; p < context; ++p) {
        axpy(scores[p] * inv, view.values(table[p / bt], kv_head) + (p % bt) * hd, oh, hd);
      }
    }
  };
  if (pairs * max_context * hd < 32768) {
    work(0, 1);
  } else {
    pool_.run(work);
  }
}

}  // namespace hearth::cpu
