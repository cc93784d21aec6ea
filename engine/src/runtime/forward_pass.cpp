#include "runtime/forward_pass.h"

#include <algorithm>
#include <string>

#include "hearth/error.h"

namespace hearth {

// The output matmul writes logits into an activation buffer that is downloaded as f32.
static_assert(sizeof(backend::Activation) == sizeof(float), "logits are downloaded as f32");

ForwardPass::ForwardPass(const ModelConfig& config, const LlamaWeights& weights,
                         backend::Backend& backend, KvCache& cache, int32_t context_size)
    : config_(config),
      weights_(weights),
      backend_(backend),
      cache_(cache),
      context_size_(context_size) {}

ForwardPass::SequencePlan& ForwardPass::plan_for(SequenceId sequence) {
  // Batches hold few sequences, so a linear search beats hashing and allocates nothing.
  for (auto& p : sequence_plans_) {
    if (p.sequence == sequence) return p;
  }
  sequence_plans_.push_back({sequence, cache_.length(sequence), 0, 0, 0});
  return sequence_plans_.back();
}

void ForwardPass::plan(std::span<const BatchToken> batch) {
  if (batch.empty()) throw Error("forward: empty batch");
  sequence_plans_.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchToken& b = batch[i];
    if (!cache_.contains(b.sequence)) {
      throw Error("forward: batch entry " + std::to_string(i) + " names unknown sequence " +
                  std::to_string(b.sequence));
    }
    if (b.token < 0 || b.token >= config_.vocab_size) {
      throw Error("forward: batch entry " + std::to_string(i) + " has token " +
                  std::to_string(b.token) + " outside the vocabulary of " +
                  std::to_string(config_.vocab_size));
    }
    SequencePlan& p = plan_for(b.sequence);
    int32_t expected = p.length + p.count++;
    if (b.position != expected) {
      throw Error("forward: batch entry " + std::to_string(i) + " of sequence " +
                  std::to_string(b.sequence) + " has position " + std::to_string(b.position) +
                  ", expected " + std::to_string(expected));
    }
    if (b.position >= context_size_) {
      throw Error("forward: sequence " + std::to_string(b.sequence) + " reached the context size " +
                  std::to_string(context_size_));
    }
  }
  appends_.clear();
  for (const auto& p : sequence_plans_) appends_.emplace_back(p.sequence, p.count);
  const int32_t blocks = cache_.blocks_needed(appends_);
  if (blocks > cache_.free_blocks()) {
    throw Error("kv cache: out of memory: this batch needs " + std::to_string(blocks) +
                    " more blocks, " + std::to_string(cache_.free_blocks()) +
                    " are free (raise runtime.kv_cache_mib)",
                ErrorCode::out_of_memory);
  }

  // Nothing below can fail: the cache grows, then each entry gets its slot and table.
  tokens_.clear(), positions_.clear(), slots_.clear(), table_offsets_.clear(), tables_.clear();
  logit_rows_.clear(), sequence_slots_.clear();
  for (auto& p : sequence_plans_) {
    p.next_slot = static_cast<int32_t>(sequence_slots_.size());
    cache_.append(p.sequence, p.count, sequence_slots_);
    p.table_offset = static_cast<int32_t>(tables_.size());
    auto table = cache_.block_table(p.sequence);
    tables_.insert(tables_.end(), table.begin(), table.end());
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchToken& b = batch[i];
    SequencePlan& p = plan_for(b.sequence);
    tokens_.push_back(b.token);
    positions_.push_back(b.position);
    slots_.push_back(sequence_slots_[p.next_slot++]);
    table_offsets_.push_back(p.table_offset);
    if (b.wants_logits) logit_rows_.push_back(static_cast<int32_t>(i));
  }
}

void ForwardPass::ensure_capacity(int64_t tokens, int64_t logit_rows) {
  // Logits are sized by the rows that want them, not by the batch: a 512-token prefill of a
  // 152k-word vocabulary would otherwise reserve 300 MB for one row.
  if (logit_rows > logits_capacity_) {
    logits_scratch_.buffer =
        backend_.allocate(static_cast<size_t>(logit_rows) * config_.vocab_size * sizeof(float));
    logits_capacity_ = logit_rows;
    logits_ = logits_scratch_.at(0);
  }
  if (tokens <= capacity_) return;
  const int64_t capacity = std::max<int64_t>(tokens, 8);
  const int64_t dim = config_.dim, q_dim = int64_t{config_.heads} * config_.head_dim;
  int32_t max_kv_heads =
      *std::max_element(config_.layer_kv_heads.begin(), config_.layer_kv_heads.end());
  const int64_t kv_dim = int64_t{max_kv_heads} * config_.head_dim, ffn = config_.ffn_dim;
  // One allocation, carved into the activations of one layer (each aligned to 64 bytes).
  const int64_t sizes[] = {dim, std::max(dim, q_dim), q_dim, kv_dim, kv_dim, q_dim, ffn, ffn};
  Activation** slots[] = {&x_, &h_, &q_, &k_, &v_, &att_, &gate_, &up_};
  constexpr int kBuffers = std::size(slots);
  size_t total = 0, offsets[kBuffers];
  for (int i = 0; i < kBuffers; ++i) {
    offsets[i] = total;
    total += (static_cast<size_t>(sizes[i] * capacity) + 15) / 16 * 16;
  }
  // Allocate before changing anything, so a failure leaves the old buffer in use.
  scratch_.buffer = backend_.allocate(total * sizeof(Activation));
  capacity_ = capacity;
  for (int i = 0; i < kBuffers; ++i) *slots[i] = scratch_.at(offsets[i]);
}

void ForwardPass::run_layer(int32_t layer, int64_t n) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[layer];
  const int32_t kv_heads = c.layer_kv_heads[layer];
  const int64_t dim = c.dim, q_dim = int64_t{c.heads} * c.head_dim,
                kv_dim = int64_t{kv_heads} * c.head_dim;
  auto f32 = [](const std::unique_ptr<backend::DeviceBuffer>& b) {
    return static_cast<const float*>(b->data());
  };

  backend_.rms_norm(x_, f32(w.attn_norm), n, dim, c.rms_eps, h_);
  const backend::Backend::MatmulOutput qkv[] = {
      {w.wq.get(), q_}, {w.wk.get(), k_}, {w.wv.get(), v_}};
  backend_.matmul_shared_input(qkv, h_, n);
  if (c.qkv_bias) {
    backend_.add_bias(q_, f32(w.q_bias), n, q_dim);
    backend_.add_bias(k_, f32(w.k_bias), n, kv_dim);
    backend_.add_bias(v_, f32(w.v_bias), n, kv_dim);
  }
  if (c.qk_norm) {  // every head of every token a row of head_dim, normalised in place
    backend_.rms_norm(q_, f32(w.q_norm), n * c.heads, c.head_dim, c.rms_eps, q_);
    backend_.rms_norm(k_, f32(w.k_norm), n * kv_heads, c.head_dim, c.rms_eps, k_);
  }
  backend_.rope(
      q_, c.heads, k_, kv_heads,
      {c.head_dim, c.rope_dims, c.rope_theta, c.rope_style == RopeStyle::neox,
       c.rope_freq_factors.empty() ? nullptr : c.rope_freq_factors.data(), c.rope_position_scale});
  backend_.kv_store(cache_.storage(), layer, k_, v_);
  backend_.attention(cache_.storage(), layer, q_, c.heads, att_, c.sliding_window);
  backend_.matmul(*w.wo, att_, n, h_);
  backend_.add(x_, h_, n * dim);

  backend_.rms_norm(x_, f32(w.ffn_norm), n, dim, c.rms_eps, h_);
  const backend::Backend::MatmulOutput gate_up[] = {{w.w_gate.get(), gate_}, {w.w_up.get(), up_}};
  backend_.matmul_shared_input(gate_up, h_, n);
  backend_.swiglu(gate_, up_, n * c.ffn_dim, gate_);
  backend_.matmul(*w.w_down, gate_, n, h_);
  backend_.add(x_, h_, n * dim);
}

void ForwardPass::run(std::span<const BatchToken> batch, std::vector<float>& logits) {
  // Scratch first: once plan() has run, the cache holds the batch's positions.
  const int64_t n = static_cast<int64_t>(batch.size());
  ensure_capacity(n, std::count_if(batch.begin(), batch.end(),
                                   [](const BatchToken& b) { return b.wants_logits; }));
  plan(batch);
  backend_.begin_pass({tokens_, positions_, slots_, table_offsets_, tables_, logit_rows_});
  try {
    run_pass(n, logits);
  } catch (...) {
    backend_.end_pass();
    throw;
  }
  backend_.end_pass();
}

void ForwardPass::run_pass(int64_t n, std::vector<float>& logits) {
  backend_.embed(*weights_.embedding, x_);
  for (int32_t layer = 0; layer < config_.layers; ++layer) run_layer(layer, n);

  // Only rows that want logits go through the final norm and the (large) output matrix.
  const int64_t rows = static_cast<int64_t>(logit_rows_.size());
  logits.resize(static_cast<size_t>(rows) * config_.vocab_size);
  if (rows == 0) return;
  backend_.gather_rows(x_, config_.dim, x_);
  backend_.rms_norm(x_, static_cast<const float*>(weights_.output_norm->data()), rows, config_.dim,
                    config_.rms_eps, h_);
  backend_.matmul(weights_.output_matrix(), h_, rows, logits_);
  backend_.download(logits.data(), logits_, logits.size() * sizeof(float));
}

}  // namespace hearth
