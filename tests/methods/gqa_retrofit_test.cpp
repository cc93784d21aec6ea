// The gqa_retrofit plugin, loaded from disk: lossless on models whose KV heads come in
// identical runs (stories260K's MHA twin, a synthetic model with biases), the KV cache shrinking
// by exactly the merge factor, perplexity rising when distinct heads are merged, and refusals.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/perplexity.h"
#include "synthetic_model.h"
#include "test_paths.h"

using namespace hearth;

namespace {

// Calibration text for the aligned methods: stories the evaluation text does not contain.
const std::string kCalibration = test::source_path("tests/data/text/tinystories-calibration.txt");

std::unique_ptr<Engine> load(const std::string& model,
                             std::vector<std::pair<std::string, std::string>> options,
                             const std::string& kv_type = "f16") {
  EngineOptions o;
  o.model_path = model;
  o.kv_cache_type = kv_type;
  o.threads = 1;
  o.context_size = 256;
  if (!options.empty()) {
    PluginConfig retrofit;
    retrofit.name = "gqa_retrofit";
    retrofit.path = test::binary_path("lib/hearth/plugins/hearth-gqa_retrofit.so");
    retrofit.options = std::move(options);
    o.plugins = {retrofit};
  }
  return Engine::load(o);
}

std::vector<int32_t> greedy(Engine& engine, const std::string& prompt, int n) {
  GenerationOptions g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  g.ignore_eos = true;
  return engine.generate(prompt, g).tokens;
}

std::string sample_text() {
  std::ifstream in(test::source_path("tests/data/text/tinystories-sample.txt"), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double perplexity(Engine& engine) {
  PerplexityOptions o;
  o.context = 128;
  return measure_perplexity(engine, sample_text(), o).perplexity;
}

// KV cache bytes per cached position.
double kv_bytes_per_token(Engine& engine) {
  const KvCacheStats s = engine.kv_cache_stats();
  return static_cast<double>(s.block_bytes) / s.block_tokens;
}

}  // namespace

TEST_CASE("retrofitting stories260K's MHA twin to 4 KV heads is lossless") {
  auto gqa = load(test::model_path(), {});
  auto mha = load(test::mha_model_path(), {});
  auto retrofitted = load(test::mha_model_path(), {{"kv_heads", "4"}});
  CHECK(mha->model_info().kv_heads == 8);
  CHECK(retrofitted->model_info().kv_heads == 4);
  const std::vector<int32_t> expected = greedy(*gqa, "Once upon a time", 48);
  CHECK(greedy(*mha, "Once upon a time", 48) == expected);
  CHECK(greedy(*retrofitted, "Once upon a time", 48) == expected);
  CHECK(perplexity(*retrofitted) == Approx(perplexity(*mha)).epsilon(1e-4));
  CHECK(kv_bytes_per_token(*mha) == 2 * kv_bytes_per_token(*retrofitted));
  // The same through a ratio.
  auto halved = load(test::mha_model_path(), {{"kv_heads", "1/2"}});
  CHECK(greedy(*halved, "Once upon a time", 48) == expected);
}

TEST_CASE("merging distinct heads shrinks the cache by the factor and costs perplexity") {
  auto mha = load(test::mha_model_path(), {});
  const double base = perplexity(*mha), base_bytes = kv_bytes_per_token(*mha);
  double previous = base;
  for (const int heads : {2, 1}) {
    CAPTURE(heads);
    auto merged = load(test::mha_model_path(), {{"kv_heads", std::to_string(heads)}});
    CHECK(kv_bytes_per_token(*merged) * (8 / heads) == base_bytes);             // exactly H / G
    CHECK(merged->model_info().weight_bytes < mha->model_info().weight_bytes);  // K, V smaller
    const double ppl = perplexity(*merged);
    CHECK(ppl > previous * 1.01);  // heads that differ cannot be averaged for free
    previous = ppl;
  }
}

TEST_CASE("kept layers and per-layer counts are honoured") {
  // stories260K has 5 layers.
  auto some = load(test::mha_model_path(), {{"kv_heads", "4"}, {"keep_layers", "0,4"}});
  auto listed = load(test::mha_model_path(), {{"kv_heads", "8,4,4,4,8"}});
  auto gqa = load(test::model_path(), {});
  const std::vector<int32_t> expected = greedy(*gqa, "Lily", 32);
  CHECK(greedy(*some, "Lily", 32) == expected);  // lossless layers either way
  CHECK(greedy(*listed, "Lily", 32) == expected);
  CHECK(some->model_info().kv_heads == 8);  // layer 0 kept
  // Layers 0 and 4 keep 8 heads, the other three have 4: the cache holds each layer's own.
  auto mha = load(test::mha_model_path(), {});
  CHECK(kv_bytes_per_token(*some) ==
        Approx(kv_bytes_per_token(*mha) * (2 * 8 + 3 * 4) / (5 * 8.0)));
}

TEST_CASE("a synthetic MHA model with K and V biases and duplicated heads merges losslessly") {
  test::Variant v;
  v.arch = "qwen2";  // the architecture whose K and V projections carry biases
  v.bias = true;
  v.neox = true;
  v.heads = 4;
  v.kv_heads = 2;
  test::Weights w = test::random_weights(v, 20261202);
  // The MHA copy: every KV head (rows of wk, wv and their biases) twice, in place.
  test::Variant mha_shape = v;
  mha_shape.kv_heads = 4;
  test::Weights mha = w;
  const int hd = v.head_dim();
  auto duplicate = [&](const test::Floats& in, int cols) {
    test::Floats out;
    for (int head = 0; head < v.kv_heads; ++head) {
      for (int copy = 0; copy < 2; ++copy) {
        out.insert(out.end(), in.begin() + head * hd * cols, in.begin() + (head + 1) * hd * cols);
      }
    }
    return out;
  };
  for (test::Layer& layer : mha.layers) {
    layer.wk = duplicate(layer.wk, v.dim);
    layer.wv = duplicate(layer.wv, v.dim);
    layer.bk = duplicate(layer.bk, 1);
    layer.bv = duplicate(layer.bv, 1);
  }
  const test::TempFile gqa_file("hearth-gqa-synthetic", test::build_gguf(v, w));
  const test::TempFile mha_file("hearth-mha-synthetic", test::build_gguf(mha_shape, mha));
  auto gqa = load(gqa_file.path.string(), {});
  auto retrofitted = load(mha_file.path.string(), {{"kv_heads", "2"}});
  const SequenceId a = gqa->create_sequence(), b = retrofitted->create_sequence();
  const std::vector<int32_t> prompt = gqa->tokenize("the cat sat", true, false);
  const std::vector<float> expected = gqa->prefill(a, prompt);
  const std::vector<float> got = retrofitted->prefill(b, prompt);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).margin(1e-4));
}

TEST_CASE("gqa_retrofit refuses counts it cannot honour, naming the option and layer") {
  auto refusal = [](std::vector<std::pair<std::string, std::string>> options) {
    try {
      load(test::mha_model_path(), std::move(options));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refusal({{"kv_heads", "3"}}),
             Catch::Contains("layer 0") && Catch::Contains("from 8 to 3"));
  CHECK_THAT(refusal({{"kv_heads", "0"}}), Catch::Contains("'kv_heads'"));
  CHECK_THAT(refusal({{"kv_heads", "1/3"}}), Catch::Contains("1/3") && Catch::Contains("layer 0"));
  CHECK_THAT(refusal({{"kv_heads", "4,4"}}),
             Catch::Contains("lists 2") && Catch::Contains("5 layers"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"keep_layers", "9"}}), Catch::Contains("layer 9"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"method", "similar"}}), Catch::Contains("'method'"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"method", "aligned_grouped"}}),
             Catch::Contains("needs option 'calibration'"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"method", "aligned"}}),
             Catch::Contains("needs option 'calibration'"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"method", "aligned"}, {"calibration", "/no/such.txt"}}),
             Catch::Contains("/no/such.txt"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"groups", "2"}}),
             Catch::Contains("unknown option 'groups'"));
  CHECK_THAT(refusal({{"method", "mean"}}), Catch::Contains("missing option 'kv_heads'"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"calibration_tokens", "64"}}),
             Catch::Contains("'calibration_tokens' is for the aligned methods"));
  CHECK_THAT(refusal({{"kv_heads", "4"}, {"merge", "false"}}), Catch::Contains("nothing to align"));
}

TEST_CASE("a model written after the retrofit loads without the plugin and runs the same") {
  // stories260K's twin (f32 matrices) and an f16 model, whose merged matrices are stored back
  // in f16 both on the device and in the written file.
  for (const auto& [model, heads, method] :
       {std::tuple{test::mha_model_path(), std::string("2"), std::string("mean")},
        std::tuple{test::mha_model_path(), std::string("2"), std::string("aligned_grouped")},
        std::tuple{test::source_path("tests/data/quant/kq-f16.gguf"), std::string("1"),
                   std::string("aligned")}}) {
    CAPTURE(model, method);
    EngineOptions o;
    o.model_path = model;
    o.threads = 1;
    o.context_size = 128;
    o.keep_transformed_weights = true;
    PluginConfig retrofit;
    retrofit.name = "gqa_retrofit";
    retrofit.path = test::binary_path("lib/hearth/plugins/hearth-gqa_retrofit.so");
    retrofit.options = {{"kv_heads", heads}, {"method", method}};
    if (method != "mean") retrofit.options.emplace_back("calibration", kCalibration);
    o.plugins = {retrofit};
    auto converted = Engine::load(o);
    const test::TempFile written("hearth-retrofitted", {});
    converted->write_model(written.path.string());
    auto reloaded = load(written.path.string(), {});
    CHECK(reloaded->model_info().kv_heads == std::stoi(heads));
    CHECK(reloaded->model_info().weight_bytes == converted->model_info().weight_bytes);
    const SequenceId a = converted->create_sequence(), b = reloaded->create_sequence();
    const std::vector<int32_t> prompt = converted->tokenize("Once upon a time", true, false);
    CHECK(converted->prefill(a, prompt) == reloaded->prefill(b, prompt));
    CHECK(greedy(*converted, "Lily", 24) == greedy(*reloaded, "Lily", 24));
  }
  // Without keep_transformed_weights there is nothing to write.
  auto plain = load(test::mha_model_path(), {{"kv_heads", "4"}});
  CHECK_THROWS_WITH(plain->write_model("/tmp/never.gguf"),
                    Catch::Contains("keep_transformed_weights"));
}

namespace {

std::string evaluation_text() {
  std::ifstream in(test::source_path("tests/data/text/tinystories-evaluation.txt"),
                   std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> first_logits(Engine& engine, const std::string& text) {
  const SequenceId s = engine.create_sequence();
  const std::vector<float> logits = engine.prefill(s, engine.tokenize(text, true, false));
  engine.drop_sequence(s);
  return logits;
}

// A random-weight MHA model (every head its own), as a GGUF file.
test::TempFile synthetic_mha(const std::string& arch) {
  test::Variant v;
  v.arch = arch;
  v.bias = arch == "qwen2";
  v.neox = arch == "qwen2";
  v.heads = 4;
  v.kv_heads = 4;
  v.dim = 64;
  v.rope_dims = 16;
  v.context_length = 256;
  return test::TempFile("hearth-mha-" + arch, test::build_gguf(v, test::random_weights(v, 7)));
}

}  // namespace

TEST_CASE("aligning heads without merging them leaves the model's function unchanged") {
  // Keys and values turned, nothing merged: the logits stay within 1e-4, on models whose
  // heads all differ (Llama's interleaved RoPE pairs, and Qwen2's NeoX pairs with biases). The
  // cache holds f32, so what is compared is the turn alone, not f16 rounding of other values.
  // aligned_grouped also reorders the heads (and their queries) before turning them.
  for (const std::string arch : {"llama", "qwen2"}) {
    CAPTURE(arch);
    const test::TempFile model = synthetic_mha(arch);
    auto plain = load(model.path.string(), {}, "f32");
    const std::vector<float> a = first_logits(*plain, "the cat sat on the mat and");
    for (const std::string method : {"aligned", "aligned_grouped"}) {
      CAPTURE(method);
      auto turned = load(model.path.string(),
                         {{"kv_heads", "2"},
                          {"method", method},
                          {"calibration", kCalibration},
                          {"merge", "false"}},
                         "f32");
      CHECK(turned->model_info().kv_heads == 4);
      const std::vector<float> b = first_logits(*turned, "the cat sat on the mat and");
      REQUIRE(a.size() == b.size());
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, double(std::fabs(a[i] - b[i])));
      }
      CHECK(worst < 1e-4);
    }
    // The turn did move the weights: merging after it is not the same as merging without it.
    auto aligned = load(model.path.string(),
                        {{"kv_heads", "2"}, {"method", "aligned"}, {"calibration", kCalibration}});
    auto mean = load(model.path.string(), {{"kv_heads", "2"}});
    CHECK(first_logits(*aligned, "the cat sat") != first_logits(*mean, "the cat sat"));
  }
}

TEST_CASE("aligned merging loses less than mean pooling on text the calibration never saw") {
  PerplexityOptions o;
  o.context = 128;
  const std::string text = evaluation_text();
  auto twin = load(test::mha_model_path(), {});
  const double base = measure_perplexity(*twin, text, o).perplexity;
  for (const int heads : {2, 1}) {
    CAPTURE(heads);
    auto merged = [&](const std::string& method) {
      std::vector<std::pair<std::string, std::string>> options = {
          {"kv_heads", std::to_string(heads)}, {"method", method}};
      if (method != "mean") options.emplace_back("calibration", kCalibration);
      return measure_perplexity(*load(test::mha_model_path(), options), text, o).perplexity;
    };
    const double p_mean = merged("mean"), p_aligned = merged("aligned"),
                 p_grouped = merged("aligned_grouped");
    CAPTURE(base, p_mean, p_aligned, p_grouped);
    WARN("KV heads " << heads << ": perplexity " << base << " -> mean " << p_mean << ", aligned "
                     << p_aligned << ", aligned_grouped " << p_grouped);
    CHECK(p_aligned > base);
    CHECK(p_aligned < p_mean);
    CHECK(p_grouped > base);
    CHECK(p_grouped < p_mean);
  }
  // On the twin's identical pairs alignment finds nothing to turn, and grouping finds the
  // pairs: lossless at 4 heads for both.
  for (const std::string method : {"aligned", "aligned_grouped"}) {
    CAPTURE(method);
    auto four = load(test::mha_model_path(),
                     {{"kv_heads", "4"}, {"method", method}, {"calibration", kCalibration}});
    CHECK(measure_perplexity(*four, text, o).perplexity == Approx(base).epsilon(1e-4));
    CHECK(greedy(*four, "Once upon a time", 48) == greedy(*twin, "Once upon a time", 48));
  }
}

TEST_CASE("the conversion's cost reaches the metrics plugins: time and calibration tokens") {
  auto with = [](std::vector<std::pair<std::string, std::string>> options) {
    EngineOptions o;
    o.model_path = test::mha_model_path();
    o.threads = 1;
    o.context_size = 128;  // the calibration run is cut to what the context holds
    PluginConfig counter;
    counter.name = "test_counter";
    counter.path = test::binary_path("tests/plugins/hearth-test_counter.so");
    PluginConfig retrofit;
    retrofit.name = "gqa_retrofit";
    retrofit.path = test::binary_path("lib/hearth/plugins/hearth-gqa_retrofit.so");
    retrofit.options = std::move(options);
    o.plugins = {counter, retrofit};
    auto engine = Engine::load(o);
    std::map<std::string, std::string> seen;
    for (auto& [k, v] : engine->metrics_snapshot()) seen[k] = v;
    return seen;
  };
  const auto aligned =
      with({{"kv_heads", "2"}, {"method", "aligned"}, {"calibration", kCalibration}});
  CHECK(aligned.at("method_overhead") == "1");
  CHECK(aligned.at("last_overhead_tokens") == "128");
  const auto mean = with({{"kv_heads", "2"}});
  CHECK(mean.at("method_overhead") == "1");
  CHECK(mean.at("last_overhead_tokens") == "0");
}
