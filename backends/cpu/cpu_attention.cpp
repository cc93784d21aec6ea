// Attention over the paged KV cache on the CPU. Each (token, query head) pair walks its
// sequence's block table, so forked sequences read shared blocks in place.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/vector_clones.h"

namespace hearth::cpu {
namespace {

// Keys are stored transposed within a block ([head_dim][block_tokens]) so the scores of a
// block's positions are a broadcast-multiply-add over contiguous rows, with no horizontal sums;
// values stay [block_tokens][head_dim] for the weighted sum.
template <int kBlock>
HEARTH_VECTOR_CLONES void block_scores_fixed(const float* q, const float* keys_t, int32_t head_dim,
                                             float* scores) {
  float acc[kBlock] = {};
  for (int32_t d = 0; d < head_dim; ++d) {
    const float qd = q[d];
    const float* row = keys_t + d * kBlock;
    for (int j = 0; j < kBlock; ++j) acc[j] += qd * row[j];
  }
  for (int j = 0; j < kBlock; ++j) scores[j] = acc[j];
}

void block_scores(const float* q, const float* keys_t, int32_t head_dim, int32_t block_tokens,
                  float* scores) {
  if (block_tokens == 16) return block_scores_fixed<16>(q, keys_t, head_dim, scores);
  for (int32_t j = 0; j < block_tokens; ++j) scores[j] = 0.0f;
  for (int32_t d = 0; d < head_dim; ++d) {
    for (int32_t j = 0; j < block_tokens; ++j) scores[j] += q[d] * keys_t[d * block_tokens + j];
  }
}

HEARTH_VECTOR_CLONES void axpy(float alpha, const float* x, float* y, int32_t n) {
  for (int32_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

struct LayerView {
  const std::byte* base;
  size_t block_bytes;
  size_t layer_offset;
  int32_t block_tokens, head_dim, kv_heads;

  // [head_dim][block_tokens]
  float* keys(int32_t block, int32_t kv_head) const {
    return const_cast<float*>(
               reinterpret_cast<const float*>(base + block * block_bytes + layer_offset)) +
           static_cast<size_t>(kv_head) * block_tokens * head_dim;
  }
  // [block_tokens][head_dim]
  float* values(int32_t block, int32_t kv_head) const {
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
  const int32_t hd = view.head_dim, bt = view.block_tokens, row = view.kv_heads * hd;
  for (size_t t = 0; t < batch.slots.size(); ++t) {
    const int32_t block = batch.slots[t] / bt, offset = batch.slots[t] % bt;
    for (int32_t h = 0; h < view.kv_heads; ++h) {
      float* keys = view.keys(block, h);
      const float* key = k + t * row + h * hd;
      for (int32_t d = 0; d < hd; ++d) keys[d * bt + offset] = key[d];
      std::memcpy(view.values(block, h) + offset * hd, v + t * row + h * hd, hd * sizeof(float));
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
  const size_t padded_context = (size_t(max_context) + bt - 1) / bt * bt;
  // Per thread: the scores of one query-head group, plus one scaled query.
  for (int i = 0; i < pool_.size(); ++i) attention_scratch(i, group * padded_context + hd);

  // One unit of work is a (token, KV head) pair: its query heads share every K and V load.
  const int64_t pairs = tokens * view.kv_heads;
  auto work = [&](int thread, int threads) {
    float* scores = scratch_[thread].data();
    float* scaled_q = scores + group * padded_context;
    // Interleaved so that prefill's long and short contexts spread evenly over threads.
    for (int64_t pair = thread; pair < pairs; pair += threads) {
      const int64_t t = pair / view.kv_heads;
      const int32_t kv_head = static_cast<int32_t>(pair % view.kv_heads);
      const int32_t* table = batch.tables.data() + batch.table_offsets[t];
      const int32_t context = batch.positions[t] + 1;
      const int32_t blocks = (context + bt - 1) / bt;
      for (int32_t g = 0; g < group; ++g) {
        const float* qh = q + (t * q_heads + kv_head * group + g) * hd;
        for (int32_t d = 0; d < hd; ++d) scaled_q[d] = qh[d] * scale;
        float* s = scores + g * padded_context;
        for (int32_t b = 0; b < blocks; ++b) {
          block_scores(scaled_q, view.keys(table[b], kv_head), hd, bt, s + b * bt);
        }
      }
      for (int32_t g = 0; g < group; ++g) {
        float* s = scores + g * padded_context;
        float max_score = -INFINITY;
        for (int32_t p = 0; p < context; ++p) max_score = std::max(max_score, s[p]);
        float sum = 0.0f;
        for (int32_t p = 0; p < context; ++p) {
          s[p] = std::exp(s[p] - max_score);
          sum += s[p];
        }
        const float inv = 1.0f / sum;
        float* oh = out + (t * q_heads + kv_head * group + g) * hd;
        std::fill(oh, oh + hd, 0.0f);
        for (int32_t b = 0; b < blocks; ++b) {
          const float* values = view.values(table[b], kv_head);
          const int32_t n = std::min(bt, context - b * bt);
          for (int32_t j = 0; j < n; ++j) axpy(s[b * bt + j] * inv, values + j * hd, oh, hd);
        }
      }
    }
  };
  if (pairs * max_context * hd * group < 32768) {
    work(0, 1);
  } else {
    pool_.run(work);
  }
}

}  // namespace hearth::cpu
