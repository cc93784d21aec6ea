// Attention over the paged KV cache on the CPU. Each (token, query head) pair walks its
// sequence's block table, so forked sequences read shared blocks in place.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/attention_kernels.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_kv_storage.h"
#include "gguf/fp16.h"
#include "hearth/fast_exp.hpp"
#include "hearth/vector_clones.hpp"

namespace hearth::cpu {
namespace {

// Keys are stored transposed within a block ([head_dim][block_tokens]) so the scores of a
// block's positions are a broadcast-multiply-add over contiguous rows, with no horizontal sums;
// values stay [block_tokens][head_dim] for the weighted sum.
// (Not a template: target_clones does not apply to templates.)
HEARTH_VECTOR_CLONES void block_scores_16(const float* q, const float* keys_t, int32_t head_dim,
                                          float* scores) {
  float acc[16] = {};
  for (int32_t d = 0; d < head_dim; ++d) {
    const float qd = q[d];
    const float* row = keys_t + d * 16;
    for (int j = 0; j < 16; ++j) acc[j] += qd * row[j];
  }
  for (int j = 0; j < 16; ++j) scores[j] = acc[j];
}

void block_scores(const float* q, const float* keys_t, int32_t head_dim, int32_t block_tokens,
                  float* scores) {
  if (block_tokens == 16) return block_scores_16(q, keys_t, head_dim, scores);
  for (int32_t j = 0; j < block_tokens; ++j) scores[j] = 0.0f;
  for (int32_t d = 0; d < head_dim; ++d) {
    for (int32_t j = 0; j < block_tokens; ++j) scores[j] += q[d] * keys_t[d * block_tokens + j];
  }
}

// s[i] = exp(s[i] - max) for i < n, returning the sum.
HEARTH_VECTOR_CLONES float exp_shifted_sum(float* s, int32_t n, float max) {
  float lanes[16] = {};
  int32_t i = 0;
  auto exp_one = [max](float v) { return sdk::fast_exp(v - max); };
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) {
      s[i + j] = exp_one(s[i + j]);
      lanes[j] += s[i + j];
    }
  }
  float sum = 0.0f;
  for (; i < n; ++i) {
    s[i] = exp_one(s[i]);
    sum += s[i];
  }
  for (float lane : lanes) sum += lane;
  return sum;
}

HEARTH_VECTOR_CLONES float max_of(const float* s, int32_t n) {
  float lanes[16];
  std::fill(lanes, lanes + 16, -INFINITY);
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) lanes[j] = std::max(lanes[j], s[i + j]);
  }
  float m = -INFINITY;
  for (; i < n; ++i) m = std::max(m, s[i]);
  for (float lane : lanes) m = std::max(m, lane);
  return m;
}

HEARTH_VECTOR_CLONES void axpy(float alpha, const float* x, float* y, int32_t n) {
  for (int32_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void prefetch(const std::byte* data, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(data + i, 0, 3);
}

// One layer of the storage, with its elements read and written as f32.
struct LayerView {
  const CpuKvStorage& storage;
  int32_t layer, block_tokens, head_dim, kv_heads;
  bool f16;

  LayerView(const backend::KvStorage& cache, int32_t layer)
      : storage(static_cast<const CpuKvStorage&>(cache)),
        layer(layer),
        block_tokens(cache.desc().block_tokens),
        head_dim(cache.desc().head_dim),
        kv_heads(cache.desc().layer_kv_heads[layer]),
        f16(cache.desc().element == TensorType::f16) {}

  size_t chunk_bytes() const { return storage.chunk_bytes(); }
  // [head_dim][block_tokens]
  std::byte* keys(int32_t block, int32_t kv_head) const {
    return storage.keys(layer, kv_head, block);
  }
  // [block_tokens][head_dim]
  std::byte* values(int32_t block, int32_t kv_head) const {
    return storage.values(layer, kv_head, block);
  }
  void store(std::byte* chunk, size_t i, float v) const {
    if (f16) {
      reinterpret_cast<uint16_t*>(chunk)[i] = f32_to_f16(v);
    } else {
      reinterpret_cast<float*>(chunk)[i] = v;
    }
  }
  // A chunk as f32 (for the portable path): in place for f32, converted into `buffer` for f16.
  const float* as_f32(const std::byte* chunk, float* buffer, bool avx512) const {
    if (!f16) return reinterpret_cast<const float*>(chunk);
    const size_t n = size_t(block_tokens) * head_dim;
    if (avx512 && n % 16 == 0) {
      convert_f16_avx512(chunk, static_cast<int64_t>(n), buffer);
      return buffer;
    }
    for (size_t i = 0; i < n; ++i) {
      buffer[i] = f16_to_f32(reinterpret_cast<const uint16_t*>(chunk)[i]);
    }
    return buffer;
  }
};

}  // namespace

void CpuBackend::kv_store(backend::KvStorage& cache, int32_t layer, const float* k,
                          const float* v) {
  const LayerView view(cache, layer);
  const backend::PassInfo& batch = pass_;
  const int32_t hd = view.head_dim, bt = view.block_tokens, row = view.kv_heads * hd;
  for (size_t t = 0; t < batch.slots.size(); ++t) {
    const int32_t block = batch.slots[t] / bt, offset = batch.slots[t] % bt;
    for (int32_t h = 0; h < view.kv_heads; ++h) {
      std::byte* keys = view.keys(block, h);
      std::byte* values = view.values(block, h);
      const float* key = k + t * row + h * hd;
      const float* value = v + t * row + h * hd;
      for (int32_t d = 0; d < hd; ++d) {
        view.store(keys, size_t(d) * bt + offset, key[d]);
        view.store(values, size_t(offset) * hd + d, value[d]);
      }
    }
  }
}

void CpuBackend::attention(const backend::KvStorage& cache, int32_t layer, const float* q,
                           int32_t q_heads, float* out, int32_t window) {
  const LayerView view(cache, layer);
  const backend::PassInfo& batch = pass_;
  const int32_t hd = view.head_dim, bt = view.block_tokens;
  const int32_t group = q_heads / view.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t tokens = static_cast<int64_t>(batch.positions.size());
  int32_t max_context = 0;
  for (int32_t p : batch.positions) max_context = std::max(max_context, p + 1);
  const size_t padded_context = (size_t(max_context) + bt - 1) / bt * bt;
  // Per thread: the scores of one query-head group, its scaled queries, and one converted
  // chunk for the portable path.
  for (int i = 0; i < pool_.size(); ++i) {
    attention_scratch(i, group * (padded_context + hd) + size_t(bt) * hd);
  }
  const bool avx512 = isa_ == Isa::avx512;
  // Scores vectorise over a block's 16 positions, whatever the head size; the weighted sum
  // over head dimensions needs them in multiples of 16 (or exactly 8).
  const bool fast_scores = avx512 && bt == 16;
  const bool fast = fast_scores && (hd % 16 == 0 || hd == 8);
  const size_t chunk = view.chunk_bytes();

  // One unit of work is a (token, KV head) pair: its query heads share every K and V load.
  const int64_t pairs = tokens * view.kv_heads;
  auto work = [&](int worker, int64_t begin, int64_t end) {
    float* scores = scratch_[worker].data();
    float* scaled_q = scores + group * padded_context;
    float* converted = scaled_q + group * hd;
    for (int64_t pair = begin; pair < end; ++pair) {
      const int64_t t = pair / view.kv_heads;
      const int32_t kv_head = static_cast<int32_t>(pair % view.kv_heads);
      const int32_t* table = batch.tables.data() + batch.table_offsets[t];
      const int32_t context = batch.positions[t] + 1;
      const int32_t blocks = (context + bt - 1) / bt;
      // A sliding window leaves the positions before `first` out; whole blocks before it are
      // not read at all, and the part of its block before it gets weight 0.
      const int32_t first = window > 0 ? std::max(0, context - window) : 0;
      const int32_t first_block = first / bt;
      const float* q_group = q + (t * q_heads + kv_head * group) * hd;
      for (int32_t i = 0; i < group * hd; ++i) scaled_q[i] = q_group[i] * scale;
      for (int32_t b = first_block; b < blocks; ++b) {
        const std::byte* keys = view.keys(table[b], kv_head);
        // Blocks sit far apart in memory, where the hardware prefetcher does not follow:
        // fetch the keys four blocks ahead while this one is scored.
        if (b + 4 < blocks) prefetch(view.keys(table[b + 4], kv_head), chunk);
        if (fast_scores) {
          attention_scores_16_avx512(scaled_q, group, keys, view.f16, hd, scores + b * bt,
                                     padded_context);
          continue;
        }
        const float* keys_f32 = view.as_f32(keys, converted, avx512);
        for (int32_t g = 0; g < group; ++g) {
          block_scores(scaled_q + g * hd, keys_f32, hd, bt, scores + g * padded_context + b * bt);
        }
      }
      float* out_group = out + (t * q_heads + kv_head * group) * hd;
      for (int32_t g = 0; g < group; ++g) {
        float* s = scores + g * padded_context;
        const int32_t n = context - first;
        const float inv = 1.0f / exp_shifted_sum(s + first, n, max_of(s + first, n));
        for (int32_t p = first; p < context; ++p) s[p] *= inv;
        std::fill(s + first_block * bt, s + first, 0.0f);
      }
      std::fill(out_group, out_group + group * hd, 0.0f);
      for (int32_t b = first_block; b < blocks; ++b) {
        const std::byte* values = view.values(table[b], kv_head);
        const int32_t n = std::min(bt, context - b * bt);
        if (b + 4 < blocks) prefetch(view.values(table[b + 4], kv_head), chunk);
        if (fast) {
          attention_weighted_sum_avx512(scores + b * bt, padded_context, group, values, view.f16, n,
                                        hd, out_group);
          continue;
        }
        const float* values_f32 = view.as_f32(values, converted, avx512);
        for (int32_t g = 0; g < group; ++g) {
          const float* s = scores + g * padded_context + b * bt;
          for (int32_t j = 0; j < n; ++j) axpy(s[j], values_f32 + j * hd, out_group + g * hd, hd);
        }
      }
    }
  };
  if (pairs * max_context * hd * group < 32768) {
    work(0, 0, pairs);
  } else {
    // Chunks are claimed as threads come free, which also evens out prefill's short and long
    // contexts.
    pool_.parallel_for_worker(pairs, 1, work);
  }
}

}  // namespace hearth::cpu
