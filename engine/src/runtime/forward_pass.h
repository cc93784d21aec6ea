// One forward pass of a Llama-family model over a mixed batch, on any backend.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend.h"
#include "hearth/batch.h"
#include "kv_cache/kv_cache.h"
#include "model/llama_weights.h"
#include "model/model_config.h"

namespace hearth {

class ForwardPass {
 public:
  ForwardPass(const ModelConfig& config, const LlamaWeights& weights, backend::Backend& backend,
              KvCache& cache, int32_t context_size);

  // Appends the batch's tokens to their sequences' KV cache and writes the logits of every
  // entry with wants_logits, in batch order, to `logits` (rows of vocab_size). Invalid input
  // (unknown sequence, bad position or token, full cache) throws before anything changes.
  void run(std::span<const BatchToken> batch, std::vector<float>& logits);

 private:
  struct Scratch {
    std::unique_ptr<backend::DeviceBuffer> buffer;
    backend::Activation* at(size_t offset) {
      return static_cast<backend::Activation*>(buffer->data()) + offset;
    }
  };
  // What the current batch appends to one sequence.
  struct SequencePlan {
    SequenceId sequence;
    int32_t length;        // before the batch
    int32_t count;         // tokens the batch appends
    int32_t next_slot;     // index into sequence_slots_ of its next unassigned slot
    int32_t table_offset;  // where its block table starts in tables_
  };
  SequencePlan& plan_for(SequenceId sequence);
  void plan(std::span<const BatchToken> batch);
  void ensure_capacity(int64_t tokens, int64_t logit_rows);
  void run_layer(int32_t layer, int64_t tokens);
  void run_pass(int64_t tokens, std::vector<float>& logits);

  const ModelConfig& config_;
  const LlamaWeights& weights_;
  backend::Backend& backend_;
  KvCache& cache_;
  int32_t context_size_;

  // Host-side description of the current batch (reused, grows only).
  std::vector<int32_t> tokens_, positions_, slots_, table_offsets_, tables_, logit_rows_;
  std::vector<int32_t> sequence_slots_;
  std::vector<SequencePlan> sequence_plans_;
  std::vector<std::pair<SequenceId, int32_t>> appends_;

  // Device activations for up to capacity_ tokens.
  int64_t capacity_ = 0, logits_capacity_ = 0;
  Scratch scratch_, logits_scratch_;
  using Activation = backend::Activation;
  Activation *x_ = nullptr, *h_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr,
             *att_ = nullptr, *gate_ = nullptr, *up_ = nullptr, *logits_ = nullptr;
};

}  // namespace hearth
