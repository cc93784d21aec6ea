// Tiny llama-family models with random weights, written as real GGUF files: for checks whose
// result must not depend on one shipped model (forward-pass conventions, search methods).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hearth::test {

using Floats = std::vector<float>;

struct Variant {
  std::string arch = "llama";
  int dim = 32, layers = 2, heads = 4, kv_heads = 2, ffn = 48, vocab = 40, rope_dims = 8;
  int context_length = 64;
  float theta = 10000.0f, eps = 1e-5f;
  // Multiplies the output matrix's spread: above 1, next-token distributions get peaked, as a
  // trained model's are, instead of nearly flat.
  float output_scale = 1.0f;
  bool tied = false, bias = false, neox = false;
  bool qk_norm = false;         // Qwen3's per-head q/k norms (arch "qwen3")
  int sliding_window = 0;       // attention.sliding_window when > 0 (Mistral v0.1)
  Floats rope_freq_factors;     // written as rope_freqs.weight (Llama 3.1+) when not empty
  float linear_scaling = 0.0f;  // rope.scaling.type = scaling_type with this factor when > 0
  std::string scaling_type = "linear";
  int head_dim() const { return dim / heads; }
};

// Matrices are row-major with one row per output feature, as GGUF stores them.
struct Layer {
  Floats attn_norm, ffn_norm, wq, wk, wv, bq, bk, bv, wo, gate, up, down;
  Floats q_norm, k_norm;  // head_dim each, when qk_norm
};
struct Weights {
  Floats embedding, output, output_norm;  // output is empty when tied to the embedding
  std::vector<Layer> layers;
};

Weights random_weights(const Variant& v, uint32_t seed);

// An F32 GGUF image of `w`, with a minimal SentencePiece vocabulary (<unk>, <s>, </s> = 0, 1, 2,
// then single letters), which the engine requires and which tokenizes plain lowercase text.
std::vector<uint8_t> build_gguf(const Variant& v, const Weights& w);

// Removes the model file once the engine that maps it is gone (declare it before the engine).
struct TempFile {
  std::filesystem::path path;
  TempFile(const std::string& name, const std::vector<uint8_t>& bytes);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace hearth::test
