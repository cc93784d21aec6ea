// The weights of a Llama-family model, loaded from a GGUF file onto a backend.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "backend.h"
#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "model/weight_overrides.h"

namespace hearth {

struct LayerWeights {
  std::unique_ptr<backend::DeviceBuffer> attn_norm, ffn_norm;
  std::unique_ptr<backend::DeviceBuffer> q_bias, k_bias, v_bias;  // Qwen2 only
  std::unique_ptr<backend::DeviceBuffer> q_norm, k_norm;          // Qwen3 only: head_dim each
  std::unique_ptr<backend::DeviceMatrix> wq, wk, wv, wo, w_gate, w_up, w_down;
};

struct LlamaWeights {
  std::unique_ptr<backend::DeviceMatrix> embedding;
  std::unique_ptr<backend::DeviceMatrix> output;  // null when tied to the embedding
  std::unique_ptr<backend::DeviceBuffer> output_norm;
  std::vector<LayerWeights> layers;

  const backend::DeviceMatrix& output_matrix() const { return output ? *output : *embedding; }
  size_t byte_size() const;
};

// Reports progress in [0, 1] while loading.
using ProgressCallback = std::function<void(float)>;

// Throws hearth::Error naming the tensor when one is missing, of an unsupported type or of
// a shape that does not match `config`.
// Replaced tensors in `overrides` (may be null) are used as f32 in place of the file's.
LlamaWeights load_llama_weights(const gguf::File& file, const ModelConfig& config,
                                backend::Backend& backend, const ProgressCallback& progress,
                                const WeightOverrides* overrides = nullptr);

}  // namespace hearth
