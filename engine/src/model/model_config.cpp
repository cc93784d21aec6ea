#include "model/model_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "hearth/error.h"

namespace hearth {
namespace {

int32_t required_int(const gguf::File& f, const std::string& key, int64_t max_value) {
  auto v = f.get_uint(key);
  if (!v) throw Error(f.path() + ": missing metadata '" + key + "'");
  if (*v == 0 || *v > static_cast<uint64_t>(max_value)) {
    throw Error(f.path() + ": metadata '" + key + "' = " + std::to_string(*v) + " is outside 1.." +
                std::to_string(max_value));
  }
  return static_cast<int32_t>(*v);
}

// Layer tensors are named blk.<index>.<name>. A file whose block_count is smaller than its
// layers would otherwise run as a shallower model, silently producing other text.
void check_layer_tensors(const gguf::File& f, const std::string& key, int32_t layers) {
  for (const auto& t : f.tensors()) {
    if (t.name.rfind("blk.", 0) != 0) continue;
    int64_t index = 0;
    size_t i = 4;
    for (; i < t.name.size() && std::isdigit(static_cast<unsigned char>(t.name[i])); ++i) {
      index = std::min<int64_t>(index * 10 + (t.name[i] - '0'), INT32_MAX);  // no overflow
    }
    if (i == 4 || i >= t.name.size() || t.name[i] != '.') continue;  // not a layer tensor name
    if (index >= layers) {
      throw Error(f.path() + ": tensor '" + t.name + "' belongs to layer " + std::to_string(index) +
                  " but metadata '" + key + "' = " + std::to_string(layers) + " (layers 0.." +
                  std::to_string(layers - 1) + ")");
    }
  }
}

}  // namespace

ModelConfig read_model_config(const gguf::File& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  if (!arch) throw Error(f.path() + ": missing metadata 'general.architecture'");
  c.architecture = *arch;
  if (c.architecture == "qwen2") {
    c.rope_style = RopeStyle::neox;
    c.qkv_bias = true;
  } else if (c.architecture == "qwen3") {
    c.rope_style = RopeStyle::neox;
    c.qk_norm = true;
  } else if (c.architecture == "phi3") {
    c.rope_style = RopeStyle::neox;
    c.fused_projections = true;
    if (f.find_tensor("rope_factors_long.weight") || f.find_tensor("rope_factors_short.weight")) {
      throw Error(f.path() +
                  ": LongRoPE (rope_factors_long/short, the 128k Phi-3 models) is "
                  "not supported");
    }
  } else if (c.architecture != "llama" && c.architecture != "mistral") {
    throw Error(f.path() + ": unsupported architecture '" + c.architecture +
                "' (supported: llama, mistral, qwen2, qwen3, phi3)");
  }
  c.name = f.get_string("general.name").value_or(c.architecture);
  const std::string p = c.architecture + ".";
  c.dim = required_int(f, p + "embedding_length", 1 << 16);
  c.layers = required_int(f, p + "block_count", 1024);
  c.heads = required_int(f, p + "attention.head_count", 1024);
  c.ffn_dim = required_int(f, p + "feed_forward_length", 1 << 20);
  int32_t kv_heads = f.find(p + "attention.head_count_kv")
                         ? required_int(f, p + "attention.head_count_kv", 1024)
                         : c.heads;
  if (c.dim % c.heads != 0) {
    throw Error(f.path() + ": embedding_length " + std::to_string(c.dim) +
                " is not divisible by head_count " + std::to_string(c.heads));
  }
  c.head_dim = c.dim / c.heads;
  if (f.find(p + "attention.key_length")) {
    c.head_dim = required_int(f, p + "attention.key_length", 1024);
  }
  if (c.heads % kv_heads != 0) {
    throw Error(f.path() + ": head_count " + std::to_string(c.heads) +
                " is not a multiple of head_count_kv " + std::to_string(kv_heads));
  }
  c.kv_heads = kv_heads;
  c.layer_kv_heads.assign(c.layers, kv_heads);
  c.rope_dims = f.find(p + "rope.dimension_count")
                    ? required_int(f, p + "rope.dimension_count", 1024)
                    : c.head_dim;
  if (c.rope_dims > c.head_dim || c.rope_dims % 2 != 0 || c.head_dim > 256) {
    throw Error(f.path() + ": rope.dimension_count " + std::to_string(c.rope_dims) +
                " / head size " + std::to_string(c.head_dim) +
                " unsupported (need an even rope size <= head size <= 256)");
  }
  c.rope_theta = static_cast<float>(f.get_float(p + "rope.freq_base").value_or(10000.0));
  c.rms_eps =
      static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  // A non-finite base or epsilon turns every activation into NaN or zero without an error.
  auto require_positive_finite = [&](const std::string& key, double value) {
    if (!(value > 0) || !std::isfinite(value)) {
      std::ostringstream msg;
      msg << f.path() << ": metadata '" << key << "' = " << value
          << " must be a positive finite number";
      throw Error(msg.str());
    }
  };
  require_positive_finite(p + "rope.freq_base", c.rope_theta);
  if (const gguf::TensorInfo* factors = f.find_tensor("rope_freqs.weight")) {
    if (factors->type() != TensorType::f32 || factors->element_count != c.rope_dims / 2) {
      throw Error(f.path() + ": tensor 'rope_freqs.weight' must be " +
                  std::to_string(c.rope_dims / 2) + " f32 values (rope.dimension_count / 2)");
    }
    c.rope_freq_factors.resize(static_cast<size_t>(c.rope_dims / 2));
    std::memcpy(c.rope_freq_factors.data(), factors->data, c.rope_freq_factors.size() * 4);
    for (float v : c.rope_freq_factors) require_positive_finite("rope_freqs.weight", v);
  }
  if (auto scaling = f.get_string(p + "rope.scaling.type"); scaling && *scaling != "none") {
    if (*scaling == "linear") {
      const double factor = f.get_float(p + "rope.scaling.factor").value_or(0.0);
      require_positive_finite(p + "rope.scaling.factor", factor);
      c.rope_position_scale = static_cast<float>(1.0 / factor);
    } else if (!(*scaling == "llama3" && !c.rope_freq_factors.empty())) {
      // llama3's scaling is carried by rope_freqs.weight; YaRN and others are not supported.
      throw Error(f.path() + ": " + p + "rope.scaling.type '" + *scaling +
                  "' is not supported (none, linear, or llama3 with rope_freqs.weight)");
    }
  }
  require_positive_finite(p + "attention.layer_norm_rms_epsilon", c.rms_eps);
  c.sliding_window = f.find(p + "attention.sliding_window")
                         ? required_int(f, p + "attention.sliding_window", 1 << 24)
                         : 0;
  c.context_train =
      f.find(p + "context_length") ? required_int(f, p + "context_length", 1 << 24) : 2048;
  if (auto tokens = f.find("tokenizer.ggml.tokens")) {
    c.vocab_size = static_cast<int32_t>(std::min<uint64_t>(tokens->array_size(), INT32_MAX));
  }
  auto* embedding = f.find_tensor("token_embd.weight");
  if (!embedding) throw Error(f.path() + ": missing tensor 'token_embd.weight'");
  if (embedding->dims.size() != 2) {
    throw Error(f.path() + ": tensor 'token_embd.weight' must have 2 dimensions");
  }
  if (c.vocab_size == 0) c.vocab_size = static_cast<int32_t>(embedding->dims[1]);
  c.tied_output = f.find_tensor("output.weight") == nullptr;
  check_layer_tensors(f, p + "block_count", c.layers);
  return c;
}

}  // namespace hearth
