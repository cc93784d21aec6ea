// Checks the whole forward pass against a naive double-precision transformer on tiny
// random-weight models. The shipped test model is a plain llama, so this is where grouped-query
// heads, partial rotary embeddings, a tied output matrix, QKV biases and NeoX-style RoPE get an
// end-to-end check that does not depend on the engine's own code.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hearth/batch.h"
#include "hearth/engine.h"
#include "synthetic_model.h"

namespace {

using hearth::test::build_gguf;
using hearth::test::Floats;
using hearth::test::Layer;
using hearth::test::random_weights;
using hearth::test::TempFile;
using hearth::test::Variant;
using hearth::test::Weights;
using Vec = std::vector<double>;

// ---- The reference: one token, one head, one dot product at a time, in double. ----

Vec rms_norm(const Vec& x, const Floats& w, double eps) {
  double sum = 0;
  for (double a : x) sum += a * a;
  const double scale = 1.0 / std::sqrt(sum / x.size() + eps);
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * scale * w[i];
  return out;
}

Vec matvec(const Floats& m, const Vec& x, const Floats& bias = {}) {
  Vec out(m.size() / x.size());
  for (size_t r = 0; r < out.size(); ++r) {
    double sum = bias.empty() ? 0.0 : bias[r];
    for (size_t c = 0; c < x.size(); ++c) sum += m[r * x.size() + c] * x[c];
    out[r] = sum;
  }
  return out;
}

// Rotates the first rope_dims values of one head; the rest pass through unchanged.
void rope(double* head, const Variant& v, int position) {
  const int rope_dims = v.rope_dims, half = rope_dims / 2;
  const bool neox = v.neox;
  const double scaled = v.linear_scaling > 0 ? position / double(v.linear_scaling) : position;
  for (int i = 0; i < half; ++i) {
    double angle = scaled * std::pow(double(v.theta), -2.0 * i / rope_dims);
    if (!v.rope_freq_factors.empty()) angle /= v.rope_freq_factors[i];
    double& a = head[neox ? i : 2 * i];
    double& b = head[neox ? i + half : 2 * i + 1];
    const double a0 = a, b0 = b;
    a = a0 * std::cos(angle) - b0 * std::sin(angle);
    b = a0 * std::sin(angle) + b0 * std::cos(angle);
  }
}

// Logits for every position of `tokens`, fed from position 0.
std::vector<Vec> reference_logits(const Variant& v, const Weights& w,
                                  const std::vector<int32_t>& tokens) {
  const int n = static_cast<int>(tokens.size()), hd = v.head_dim();
  const int group = v.heads / v.kv_heads;
  std::vector<Vec> x(n);
  for (int t = 0; t < n; ++t) {
    x[t].assign(w.embedding.begin() + tokens[t] * v.dim,
                w.embedding.begin() + (tokens[t] + 1) * v.dim);
  }
  for (const Layer& l : w.layers) {
    std::vector<Vec> q(n), k(n), val(n);
    for (int t = 0; t < n; ++t) {
      const Vec h = rms_norm(x[t], l.attn_norm, v.eps);
      q[t] = matvec(l.wq, h, l.bq);
      k[t] = matvec(l.wk, h, l.bk);
      val[t] = matvec(l.wv, h, l.bv);
      if (v.qk_norm) {  // each head on its own, before RoPE
        auto norm_heads = [&](Vec& m, int heads, const Floats& weight) {
          for (int head = 0; head < heads; ++head) {
            const Vec one(m.begin() + head * hd, m.begin() + (head + 1) * hd);
            const Vec normed = rms_norm(one, weight, v.eps);
            std::copy(normed.begin(), normed.end(), m.begin() + head * hd);
          }
        };
        norm_heads(q[t], v.heads, l.q_norm);
        norm_heads(k[t], v.kv_heads, l.k_norm);
      }
      for (int head = 0; head < v.heads; ++head) rope(&q[t][head * hd], v, t);
      for (int head = 0; head < v.kv_heads; ++head) rope(&k[t][head * hd], v, t);
    }
    for (int t = 0; t < n; ++t) {
      Vec att(v.heads * hd, 0.0);
      for (int head = 0; head < v.heads; ++head) {
        const int kv = head / group;
        Vec scores(t + 1);
        for (int p = 0; p <= t; ++p) {  // causal: only this and earlier positions
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += q[t][head * hd + d] * k[p][kv * hd + d];
          scores[p] = dot / std::sqrt(double(hd));
        }
        // A sliding window of w positions: only [t - w + 1, t] take part.
        for (int p = 0; v.sliding_window > 0 && p <= t - v.sliding_window; ++p) {
          scores[p] = -INFINITY;
        }
        const double max_score = *std::max_element(scores.begin(), scores.end());
        double sum = 0;
        for (double& s : scores) sum += (s = std::exp(s - max_score));
        for (int p = 0; p <= t; ++p) {
          for (int d = 0; d < hd; ++d) att[head * hd + d] += scores[p] / sum * val[p][kv * hd + d];
        }
      }
      const Vec o = matvec(l.wo, att);
      for (int i = 0; i < v.dim; ++i) x[t][i] += o[i];
      const Vec h = rms_norm(x[t], l.ffn_norm, v.eps);
      const Vec gate = matvec(l.gate, h), up = matvec(l.up, h);
      Vec act(v.ffn);
      for (int i = 0; i < v.ffn; ++i) act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const Vec down = matvec(l.down, act);
      for (int i = 0; i < v.dim; ++i) x[t][i] += down[i];
    }
  }
  std::vector<Vec> logits(n);
  for (int t = 0; t < n; ++t) {
    logits[t] = matvec(v.tied ? w.embedding : w.output, rms_norm(x[t], w.output_norm, v.eps));
  }
  return logits;
}

double max_abs_diff(const float* engine, const Vec& reference) {
  double worst = 0;
  for (size_t i = 0; i < reference.size(); ++i)
    worst = std::max(worst, std::abs(engine[i] - reference[i]));
  return worst;
}

void check_against_reference(const Variant& v) {
  const Weights w = random_weights(v, 1234);
  std::vector<int32_t> tokens = {1, 7, 23, 4, v.vocab - 1, 12};
  // A window must also be seen leaving whole cache blocks (16 positions) behind.
  for (int i = 0; v.sliding_window > 0 && tokens.size() < 40; ++i) tokens.push_back(3 + i % 30);
  const std::vector<Vec> reference = reference_logits(v, w, tokens);
  double scale = 1.0;
  for (const Vec& row : reference)
    for (double l : row) scale = std::max(scale, std::abs(l));
  // F32 weights with float accumulation: errors stay near 1e-6 of the logit scale, so 1e-3
  // leaves room for summation order while a wrong convention is off by a whole logit unit.
  const double tolerance = 1e-3 * scale;

  // The check is only worth something if a wrong RoPE pairing would fail it.
  Variant wrong_style = v;
  wrong_style.neox = !v.neox;
  const std::vector<Vec> mutant = reference_logits(wrong_style, w, tokens);
  double mutant_diff = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    Floats row(mutant[t].begin(), mutant[t].end());
    mutant_diff = std::max(mutant_diff, max_abs_diff(row.data(), reference[t]));
  }
  CHECK(mutant_diff > 20 * tolerance);

  TempFile file("hearth-reference-" + v.arch, build_gguf(v, w));
  hearth::EngineOptions options;
  options.model_path = file.path.string();
  options.threads = 1;
  options.context_size = 64;
  auto engine = hearth::Engine::load(options);
  const auto& info = engine->model_info();
  REQUIRE(info.architecture == v.arch);
  REQUIRE(info.vocab_size == v.vocab);
  REQUIRE(info.kv_heads == v.kv_heads);
  REQUIRE(info.head_dim == v.head_dim());
  const size_t vocab = v.vocab;

  auto compare = [&](const char* path, size_t t, const float* logits) {
    const double diff = max_abs_diff(logits, reference[t]);
    INFO(v.arch << " via " << path << ", position " << t << ": max |engine - reference| = " << diff
                << ", tolerance " << tolerance);
    CHECK(diff <= tolerance);
  };

  SECTION("prefill returns the last position's logits") {
    const std::vector<float> logits = engine->prefill(engine->create_sequence(), tokens);
    REQUIRE(logits.size() == vocab);
    compare("prefill", tokens.size() - 1, logits.data());
  }
  SECTION("one batch with logits at every position") {
    const hearth::SequenceId s = engine->create_sequence();
    std::vector<hearth::BatchToken> batch;
    for (size_t t = 0; t < tokens.size(); ++t) batch.push_back({tokens[t], int32_t(t), s, true});
    std::vector<float> logits;
    engine->decode(batch, logits);
    REQUIRE(logits.size() == tokens.size() * vocab);
    for (size_t t = 0; t < tokens.size(); ++t) compare("batch", t, logits.data() + t * vocab);
  }
  SECTION("token by token through the KV cache") {
    const hearth::SequenceId s = engine->create_sequence();
    std::vector<float> logits;
    for (size_t t = 0; t < tokens.size(); ++t) {
      const hearth::BatchToken token{tokens[t], int32_t(t), s, true};
      engine->decode({&token, 1}, logits);
      REQUIRE(logits.size() == vocab);
      compare("decode", t, logits.data());
    }
  }
}

}  // namespace

TEST_CASE("llama with grouped-query heads matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "llama";
  check_against_reference(v);
}

TEST_CASE("llama with tied output and partial rotary matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "llama";
  v.tied = true;
  v.rope_dims = 4;  // of a head size of 8: the last half of each head never rotates
  v.kv_heads = 1;   // every query head shares one KV head
  check_against_reference(v);
}

TEST_CASE("qwen2 with QKV biases and NeoX RoPE matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "qwen2";
  v.bias = true;
  v.neox = true;
  v.theta = 1000000.0f;
  v.eps = 1e-6f;
  check_against_reference(v);
}

TEST_CASE("llama with Llama 3.1 RoPE frequency factors matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "llama";
  v.theta = 500000.0f;
  v.rope_freq_factors = {1.0f, 2.5f, 8.0f, 8.0f};  // rope_dims / 2 pairs, the slow ones slower
  check_against_reference(v);
}

TEST_CASE("llama with linear RoPE scaling matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "llama";
  v.linear_scaling = 4.0f;  // positions interpolated: 4 positions turn as far as 1 did
  check_against_reference(v);
}

TEST_CASE("RoPE scaling the engine cannot run is refused at load and named", "[engine]") {
  auto load_error = [](const Variant& v) {
    TempFile file("rope-refused.gguf", build_gguf(v, random_weights(v, 3)));
    hearth::EngineOptions options;
    options.model_path = file.path.string();
    try {
      hearth::Engine::load(options);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  Variant yarn;
  yarn.linear_scaling = 4.0f;
  yarn.scaling_type = "yarn";
  CHECK_THAT(load_error(yarn), Catch::Contains("rope.scaling.type 'yarn' is not supported"));
  Variant short_factors;
  short_factors.rope_freq_factors = {1.0f, 2.0f};  // rope_dims / 2 = 4 are needed
  CHECK_THAT(load_error(short_factors), Catch::Contains("'rope_freqs.weight' must be 4 f32"));
  Variant zero_factor;
  zero_factor.rope_freq_factors = {1.0f, 0.0f, 1.0f, 1.0f};
  CHECK_THAT(load_error(zero_factor), Catch::Contains("rope_freqs.weight"));
}

TEST_CASE("qwen3 with per-head Q/K norms and NeoX RoPE matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "qwen3";
  v.qk_norm = true;
  v.neox = true;
  v.theta = 1000000.0f;
  v.eps = 1e-6f;
  check_against_reference(v);
}

TEST_CASE("llama with a sliding attention window matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "llama";
  v.sliding_window = 3;  // shorter than the prompt: early positions drop out of the window
  check_against_reference(v);
  v.sliding_window = 21;  // 40 positions: the first block falls out whole, the next in part
  check_against_reference(v);
}

TEST_CASE("phi3 with fused QKV and gate-up matrices matches the reference forward pass",
          "[engine][reference]") {
  Variant v;
  v.arch = "phi3";
  v.neox = true;
  check_against_reference(v);
}
