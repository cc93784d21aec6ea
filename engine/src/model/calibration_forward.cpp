#include "model/calibration_forward.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "hearth/error.h"

namespace hearth {
namespace {

using Floats = std::vector<float>;

// out[t][r] = bias[r] + W[r] . x[t], for W of `rows` rows of `cols`.
Floats multiply(const Floats& x, size_t tokens, const Floats& w, size_t rows, size_t cols,
                const Floats* bias = nullptr) {
  Floats out(tokens * rows);
  for (size_t t = 0; t < tokens; ++t) {
    const float* xt = x.data() + t * cols;
    for (size_t r = 0; r < rows; ++r) {
      const float* wr = w.data() + r * cols;
      float sum = 0;
      for (size_t c = 0; c < cols; ++c) sum += wr[c] * xt[c];
      out[t * rows + r] = sum + (bias ? (*bias)[r] : 0.0f);
    }
  }
  return out;
}

Floats rms_norm(const Floats& x, size_t tokens, size_t dim, const Floats& weight, float eps) {
  Floats out(x.size());
  for (size_t t = 0; t < tokens; ++t) {
    double squares = 0;
    for (size_t i = 0; i < dim; ++i) squares += double(x[t * dim + i]) * x[t * dim + i];
    const float scale = 1.0f / std::sqrt(static_cast<float>(squares / dim) + eps);
    for (size_t i = 0; i < dim; ++i) out[t * dim + i] = x[t * dim + i] * scale * weight[i];
  }
  return out;
}

void rope(float* head, const ModelConfig& c, int32_t position) {
  const int32_t half = c.rope_dims / 2;
  const bool neox = c.rope_style == RopeStyle::neox;
  for (int32_t i = 0; i < half; ++i) {
    double freq = std::pow(double(c.rope_theta), -2.0 * i / c.rope_dims);
    if (!c.rope_freq_factors.empty()) freq /= c.rope_freq_factors[size_t(i)];
    const double angle = double(position) * c.rope_position_scale * freq;
    float& a = head[neox ? i : 2 * i];
    float& b = head[neox ? i + half : 2 * i + 1];
    const float a0 = a, b0 = b, c = float(std::cos(angle)), s = float(std::sin(angle));
    a = a0 * c - b0 * s;
    b = a0 * s + b0 * c;
  }
}

}  // namespace

void calibration_forward(const ModelConfig& c, const WeightOverrides& weights,
                         std::span<const int32_t> tokens, const CalibrationSink& sink) {
  const size_t n = tokens.size(), dim = size_t(c.dim), hd = size_t(c.head_dim);
  Floats x(n * dim);
  for (size_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      throw Error("calibrate: token " + std::to_string(tokens[t]) + " is outside the vocabulary");
    }
    const Floats row = weights.read_row("token_embd.weight", tokens[t]);
    std::copy_n(row.begin(), dim, x.begin() + t * dim);
  }
  for (int32_t layer = 0; layer < c.layers; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    const size_t kv_heads = size_t(c.layer_kv_heads[size_t(layer)]);
    const size_t q_rows = size_t(c.heads) * hd, kv_rows = kv_heads * hd;
    const Floats h = rms_norm(x, n, dim, weights.read(p + "attn_norm.weight"), c.rms_eps);
    sink(layer, h);
    Floats bq, bk, bv;
    if (c.qkv_bias) {
      bq = weights.read(p + "attn_q.bias");
      bk = weights.read(p + "attn_k.bias");
      bv = weights.read(p + "attn_v.bias");
    }
    Floats q =
        multiply(h, n, weights.read(p + "attn_q.weight"), q_rows, dim, c.qkv_bias ? &bq : nullptr);
    Floats k =
        multiply(h, n, weights.read(p + "attn_k.weight"), kv_rows, dim, c.qkv_bias ? &bk : nullptr);
    const Floats v =
        multiply(h, n, weights.read(p + "attn_v.weight"), kv_rows, dim, c.qkv_bias ? &bv : nullptr);
    if (c.qk_norm) {  // Qwen3: every head of q and k normalised on its own before RoPE
      q = rms_norm(q, n * size_t(c.heads), hd, weights.read(p + "attn_q_norm.weight"), c.rms_eps);
      k = rms_norm(k, n * kv_heads, hd, weights.read(p + "attn_k_norm.weight"), c.rms_eps);
    }
    for (size_t t = 0; t < n; ++t) {
      for (size_t head = 0; head < size_t(c.heads); ++head) {
        rope(&q[t * q_rows + head * hd], c, int32_t(t));
      }
      for (size_t head = 0; head < kv_heads; ++head) {
        rope(&k[t * kv_rows + head * hd], c, int32_t(t));
      }
    }
    const size_t group = size_t(c.heads) / kv_heads;
    Floats attended(n * q_rows, 0.0f), scores(n);
    const float scale = 1.0f / std::sqrt(float(hd));
    for (size_t t = 0; t < n; ++t) {
      for (size_t head = 0; head < size_t(c.heads); ++head) {
        const size_t kv = head / group;
        const float* qt = q.data() + t * q_rows + head * hd;
        float max = -INFINITY;
        for (size_t s = 0; s <= t; ++s) {  // causal
          const float* ks = k.data() + s * kv_rows + kv * hd;
          float dot = 0;
          for (size_t d = 0; d < hd; ++d) dot += qt[d] * ks[d];
          scores[s] = dot * scale;
          max = std::max(max, scores[s]);
        }
        double sum = 0;
        for (size_t s = 0; s <= t; ++s) sum += (scores[s] = std::exp(scores[s] - max));
        float* out = attended.data() + t * q_rows + head * hd;
        for (size_t s = 0; s <= t; ++s) {
          const float weight = float(scores[s] / sum);
          const float* vs = v.data() + s * kv_rows + kv * hd;
          for (size_t d = 0; d < hd; ++d) out[d] += weight * vs[d];
        }
      }
    }
    const Floats o = multiply(attended, n, weights.read(p + "attn_output.weight"), dim, q_rows);
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    if (layer + 1 == c.layers) break;  // the last layer's FFN feeds no attention
    const Floats f = rms_norm(x, n, dim, weights.read(p + "ffn_norm.weight"), c.rms_eps);
    const size_t ffn = size_t(c.ffn_dim);
    const Floats gate = multiply(f, n, weights.read(p + "ffn_gate.weight"), ffn, dim);
    Floats up = multiply(f, n, weights.read(p + "ffn_up.weight"), ffn, dim);
    for (size_t i = 0; i < up.size(); ++i) up[i] *= gate[i] / (1.0f + std::exp(-gate[i]));
    const Floats down = multiply(up, n, weights.read(p + "ffn_down.weight"), dim, ffn);
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
}

}  // namespace hearth
