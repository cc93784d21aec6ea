#include "synthetic_model.h"

#include <cmath>
#include <fstream>
#include <random>

#include "gguf_builder.h"

namespace hearth::test {

Weights random_weights(const Variant& v, uint32_t seed) {
  std::mt19937 rng(seed);
  auto normal = [&](int n, double mean, double stddev) {
    std::normal_distribution<double> d(mean, stddev);
    Floats out(n);
    for (float& x : out) x = static_cast<float>(d(rng));
    return out;
  };
  // Scaling by 1/sqrt(inputs) keeps activations near unit size, so attention scores spread
  // over a few units: softmax is neither uniform nor one-hot, and RoPE errors show.
  auto matrix = [&](int rows, int cols, double spread = 1.0) {
    return normal(rows * cols, 0.0, spread / std::sqrt(cols));
  };
  auto norm = [&](int n) { return normal(n, 1.0, 0.2); };
  const int q_dim = v.heads * v.head_dim(), kv_dim = v.kv_heads * v.head_dim();
  Weights w;
  w.embedding = normal(v.vocab * v.dim, 0.0, 1.0);
  if (!v.tied) w.output = matrix(v.vocab, v.dim, v.output_scale);
  w.output_norm = norm(v.dim);
  for (int i = 0; i < v.layers; ++i) {
    Layer l;
    l.attn_norm = norm(v.dim);
    l.ffn_norm = norm(v.dim);
    l.wq = matrix(q_dim, v.dim);
    l.wk = matrix(kv_dim, v.dim);
    l.wv = matrix(kv_dim, v.dim);
    if (v.qk_norm) {
      l.q_norm = norm(v.head_dim());
      l.k_norm = norm(v.head_dim());
    }
    if (v.bias) {
      l.bq = normal(q_dim, 0.0, 0.5);
      l.bk = normal(kv_dim, 0.0, 0.5);
      l.bv = normal(kv_dim, 0.0, 0.5);
    }
    l.wo = matrix(v.dim, q_dim);
    l.gate = matrix(v.ffn, v.dim);
    l.up = matrix(v.ffn, v.dim);
    l.down = matrix(v.dim, v.ffn);
    w.layers.push_back(std::move(l));
  }
  return w;
}

std::vector<uint8_t> build_gguf(const Variant& v, const Weights& w) {
  hearth::test::GgufBuilder b;
  const std::string p = v.arch + ".";
  b.str("general.architecture", v.arch)
      .u32(p + "context_length", v.context_length)
      .u32(p + "embedding_length", v.dim)
      .u32(p + "block_count", v.layers)
      .u32(p + "feed_forward_length", v.ffn)
      .u32(p + "attention.head_count", v.heads)
      .u32(p + "attention.head_count_kv", v.kv_heads)
      .u32(p + "rope.dimension_count", v.rope_dims)
      .f32(p + "rope.freq_base", v.theta)
      .f32(p + "attention.layer_norm_rms_epsilon", v.eps);
  if (v.sliding_window > 0) b.u32(p + "attention.sliding_window", v.sliding_window);
  if (v.linear_scaling > 0) {
    b.str(p + "rope.scaling.type", v.scaling_type).f32(p + "rope.scaling.factor", v.linear_scaling);
  }
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int i = 0; static_cast<int>(tokens.size()) < v.vocab; ++i) {
    tokens.push_back(i < 26 ? "\u2581" + std::string(1, char('a' + i))
                            : std::string(1, char('a' + i - 26)));
    types.push_back(1);
  }
  b.str("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens", tokens)
      .floats("tokenizer.ggml.scores", Floats(tokens.size(), 0.0f))
      .ints("tokenizer.ggml.token_type", types)
      .u32("tokenizer.ggml.bos_token_id", 1)
      .u32("tokenizer.ggml.eos_token_id", 2)
      .u32("tokenizer.ggml.unknown_token_id", 0);

  auto matrix = [&](const std::string& name, const Floats& m, int rows, int cols) {
    b.f32_tensor(name, {uint64_t(cols), uint64_t(rows)}, m);
  };
  auto vector = [&](const std::string& name, const Floats& x) {
    b.f32_tensor(name, {uint64_t(x.size())}, x);
  };
  const int q_dim = v.heads * v.head_dim(), kv_dim = v.kv_heads * v.head_dim();
  matrix("token_embd.weight", w.embedding, v.vocab, v.dim);
  if (!v.rope_freq_factors.empty()) vector("rope_freqs.weight", v.rope_freq_factors);
  vector("output_norm.weight", w.output_norm);
  if (!v.tied) matrix("output.weight", w.output, v.vocab, v.dim);
  for (int i = 0; i < v.layers; ++i) {
    const Layer& l = w.layers[i];
    const std::string n = "blk." + std::to_string(i) + ".";
    vector(n + "attn_norm.weight", l.attn_norm);
    vector(n + "ffn_norm.weight", l.ffn_norm);
    const bool fused = v.arch == "phi3";  // q, k, v in one matrix; gate and up in another
    if (fused) {
      Floats qkv = l.wq;
      qkv.insert(qkv.end(), l.wk.begin(), l.wk.end());
      qkv.insert(qkv.end(), l.wv.begin(), l.wv.end());
      matrix(n + "attn_qkv.weight", qkv, q_dim + 2 * kv_dim, v.dim);
    } else {
      matrix(n + "attn_q.weight", l.wq, q_dim, v.dim);
      matrix(n + "attn_k.weight", l.wk, kv_dim, v.dim);
      matrix(n + "attn_v.weight", l.wv, kv_dim, v.dim);
    }
    if (v.qk_norm) {
      vector(n + "attn_q_norm.weight", l.q_norm);
      vector(n + "attn_k_norm.weight", l.k_norm);
    }
    if (v.bias) {
      vector(n + "attn_q.bias", l.bq);
      vector(n + "attn_k.bias", l.bk);
      vector(n + "attn_v.bias", l.bv);
    }
    matrix(n + "attn_output.weight", l.wo, v.dim, q_dim);
    if (fused) {
      Floats gate_up = l.gate;
      gate_up.insert(gate_up.end(), l.up.begin(), l.up.end());
      matrix(n + "ffn_up.weight", gate_up, 2 * v.ffn, v.dim);
    } else {
      matrix(n + "ffn_gate.weight", l.gate, v.ffn, v.dim);
      matrix(n + "ffn_up.weight", l.up, v.ffn, v.dim);
    }
    matrix(n + "ffn_down.weight", l.down, v.dim, v.ffn);
  }
  return b.build();
}

TempFile::TempFile(const std::string& name, const std::vector<uint8_t>& bytes)
    : path(std::filesystem::temp_directory_path() /
           (name + "-" + std::to_string(std::random_device{}()) + ".gguf")) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

TempFile::~TempFile() { std::filesystem::remove(path); }

}  // namespace hearth::test
