// Hyperparameters of a Llama-family model, read from GGUF metadata and validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "hearth/model_shape.h"

namespace hearth {

// Which dimensions of a head RoPE rotates together: (2i, 2i+1) in Llama GGUF files, (i, i+d/2)
// in NeoX-style models (Qwen2).
enum class RopeStyle { interleaved, neox };

// The shape (architecture "llama", "qwen2", "mistral"; kv_heads as the file declares them) and
// what running the model needs beyond it.
struct ModelConfig : ModelShape {
  std::vector<int32_t> layer_kv_heads;  // per layer; plugins may change them at load time
  int32_t rope_dims = 0;
  float rope_theta = 10000.0f;
  // Llama 3.1+ (the `rope_freqs.weight` tensor): rope_dims / 2 divisors of each pair's
  // rotation speed, so low frequencies turn slower over long contexts. Empty: none.
  std::vector<float> rope_freq_factors;
  // Linear position interpolation (rope.scaling.type = "linear"): positions times this.
  float rope_position_scale = 1.0f;
  float rms_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::interleaved;
  bool qkv_bias = false;
  // Qwen3: each head of q and k RMS-normalised (its own weights) before RoPE.
  bool qk_norm = false;
  // Phi-3: q, k and v in one matrix (attn_qkv), gate and up in one (ffn_up, gate first).
  bool fused_projections = false;
  // attention.sliding_window (Mistral v0.1): positions a token attends to; 0: all before it.
  int32_t sliding_window = 0;
  bool tied_output = false;
};

// Throws hearth::Error naming the file and the key for missing or inconsistent values.
ModelConfig read_model_config(const gguf::File& file);

}  // namespace hearth
