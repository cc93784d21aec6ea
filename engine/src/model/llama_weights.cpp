#include "model/llama_weights.h"

#include <string>
#include <vector>

#include "gguf/dequantize.h"
#include "hearth/error.h"
#include "model/stored_weight.h"

namespace hearth {
namespace {

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

class Loader {
 public:
  Loader(const gguf::File& file, backend::Backend& backend, const WeightOverrides* overrides)
      : file_(file), backend_(backend), overrides_(overrides) {}

  const gguf::TensorInfo& require(const std::string& name, std::vector<int64_t> dims) {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (!t) throw Error(file_.path() + ": missing tensor '" + name + "'");
    gguf::File::require_supported(file_, *t);
    if (t->dims != dims) {
      throw Error(file_.path() + ": tensor '" + name + "' has shape " + shape_string(t->dims) +
                  ", expected " + shape_string(dims));
    }
    return *t;
  }

  std::unique_ptr<backend::DeviceMatrix> matrix(
      const std::string& name, int64_t rows, int64_t cols,
      backend::MatrixUse use = backend::MatrixUse::multiply) {
    if (const ReplacedTensor* r = replaced(name, {cols, rows})) {
      // Stored back in the file's type where it can be, so a transformed model keeps the
      // file's size and speed (a merged Q4_0 projection stays Q4_0, not eight times larger).
      const StoredWeight stored = store_like(file_.find_tensor(name), *r);
      return backend_.load_matrix(stored.type, stored.bytes.data(), rows, cols, use);
    }
    const auto& t = require(name, {cols, rows});
    auto matrix = backend_.load_matrix(t.type(), t.data, rows, cols, use);
    // The backend holds its own copy of a matrix it multiplies by; drop the file's pages so
    // the weights are not resident twice (lookups keep reading the file).
    if (use == backend::MatrixUse::multiply) file_.release_pages(t);
    return matrix;
  }

  // A fused matrix (rows of several projections one after the other) as one matrix per
  // part: each part's rows are contiguous in the file, so they load in place.
  std::vector<std::unique_ptr<backend::DeviceMatrix>> parts(const std::string& name,
                                                            std::vector<int64_t> part_rows,
                                                            int64_t cols) {
    int64_t total = 0;
    for (int64_t rows : part_rows) total += rows;
    const auto& t = require(name, {cols, total});
    const auto traits = *tensor_type_traits(t.type_id);
    const size_t row_bytes = static_cast<size_t>(cols / traits.block_values) * traits.block_bytes;
    std::vector<std::unique_ptr<backend::DeviceMatrix>> out;
    int64_t first = 0;
    for (int64_t rows : part_rows) {
      out.push_back(backend_.load_matrix(t.type(), t.data + static_cast<size_t>(first) * row_bytes,
                                         rows, cols, backend::MatrixUse::multiply));
      first += rows;
    }
    file_.release_pages(t);
    return out;
  }

  // Norm weights and biases are small vectors, used as f32 by every kernel.
  std::unique_ptr<backend::DeviceBuffer> vector(const std::string& name, int64_t size) {
    std::vector<float> host(size);
    if (const ReplacedTensor* r = replaced(name, {size})) {
      host = r->values;
    } else {
      const auto& t = require(name, {size});
      dequantize_row(t.type(), t.data, size, host.data());
    }
    auto buffer = backend_.allocate(size * sizeof(float));
    backend_.upload(buffer->data(), host.data(), size * sizeof(float));
    return buffer;
  }

 private:
  // A replacement must have the shape the (possibly changed) configuration expects.
  const ReplacedTensor* replaced(const std::string& name, const std::vector<int64_t>& dims) {
    const ReplacedTensor* r = overrides_ ? overrides_->find(name) : nullptr;
    if (!r) return nullptr;
    std::vector<int64_t> have = dims.size() == 1 ? std::vector<int64_t>{r->rows * r->cols}
                                                 : std::vector<int64_t>{r->cols, r->rows};
    if (have != dims) {
      throw Error("weights: replaced tensor '" + name + "' has shape " + shape_string(have) +
                  ", the model now expects " + shape_string(dims));
    }
    return r;
  }

  const gguf::File& file_;
  backend::Backend& backend_;
  const WeightOverrides* overrides_;
};

}  // namespace

size_t LlamaWeights::byte_size() const {
  size_t total = embedding->byte_size() + (output ? output->byte_size() : 0) + output_norm->size();
  for (const auto& l : layers) {
    for (const auto* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      total += (*m)->byte_size();
    }
    total += l.attn_norm->size() + l.ffn_norm->size();
  }
  return total;
}

LlamaWeights load_llama_weights(const gguf::File& file, const ModelConfig& c,
                                backend::Backend& backend, const ProgressCallback& progress,
                                const WeightOverrides* overrides) {
  Loader load(file, backend, overrides);
  LlamaWeights w;
  w.embedding = load.matrix(
      "token_embd.weight", c.vocab_size, c.dim,
      c.tied_output ? backend::MatrixUse::multiply_and_lookup : backend::MatrixUse::lookup);
  if (!c.tied_output) w.output = load.matrix("output.weight", c.vocab_size, c.dim);
  w.output_norm = load.vector("output_norm.weight", c.dim);
  const int64_t q_dim = static_cast<int64_t>(c.heads) * c.head_dim;
  for (int32_t i = 0; i < c.layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const int64_t kv_dim = static_cast<int64_t>(c.layer_kv_heads[i]) * c.head_dim;
    LayerWeights l;
    l.attn_norm = load.vector(p + "attn_norm.weight", c.dim);
    l.ffn_norm = load.vector(p + "ffn_norm.weight", c.dim);
    if (c.fused_projections) {
      auto qkv = load.parts(p + "attn_qkv.weight", {q_dim, kv_dim, kv_dim}, c.dim);
      l.wq = std::move(qkv[0]);
      l.wk = std::move(qkv[1]);
      l.wv = std::move(qkv[2]);
    } else {
      l.wq = load.matrix(p + "attn_q.weight", q_dim, c.dim);
      l.wk = load.matrix(p + "attn_k.weight", kv_dim, c.dim);
      l.wv = load.matrix(p + "attn_v.weight", kv_dim, c.dim);
    }
    l.wo = load.matrix(p + "attn_output.weight", c.dim, q_dim);
    if (c.qkv_bias) {
      l.q_bias = load.vector(p + "attn_q.bias", q_dim);
      l.k_bias = load.vector(p + "attn_k.bias", kv_dim);
      l.v_bias = load.vector(p + "attn_v.bias", kv_dim);
    }
    if (c.qk_norm) {
      l.q_norm = load.vector(p + "attn_q_norm.weight", c.head_dim);
      l.k_norm = load.vector(p + "attn_k_norm.weight", c.head_dim);
    }
    if (c.fused_projections) {
      auto gate_up = load.parts(p + "ffn_up.weight", {c.ffn_dim, c.ffn_dim}, c.dim);
      l.w_gate = std::move(gate_up[0]);
      l.w_up = std::move(gate_up[1]);
    } else {
      l.w_gate = load.matrix(p + "ffn_gate.weight", c.ffn_dim, c.dim);
      l.w_up = load.matrix(p + "ffn_up.weight", c.ffn_dim, c.dim);
    }
    l.w_down = load.matrix(p + "ffn_down.weight", c.dim, c.ffn_dim);
    w.layers.push_back(std::move(l));
    if (progress) progress(static_cast<float>(i + 1) / c.layers);
  }
  return w;
}

}  // namespace hearth
