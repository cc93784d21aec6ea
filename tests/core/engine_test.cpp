#include "hearth/engine.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>

#include "backend_registry.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::unique_ptr<Engine> load(const std::string& path, int threads = 1,
                             const std::string& kernels = "") {
  EngineOptions o;
  o.model_path = path;
  o.threads = threads;
  o.cpu_kernels = kernels;
  return Engine::load(o);
}

GenerationOptions greedy(int32_t tokens) {
  GenerationOptions g;
  g.max_tokens = tokens;
  g.sampling.temperature = 0;
  return g;
}

// The reference text holds 200 generated tokens: llama2.c's `run -n 200` forwards BOS at
// position 0 and samples a token after every one of its 200 steps.
constexpr int32_t kReferenceTokens = 200;

}  // namespace

TEST_CASE("greedy decoding from BOS reproduces the reference text", "[engine][golden]") {
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  REQUIRE(expected.size() == 464);
  for (int threads : {1, 2}) {
    auto engine = load(test::model_path(), threads);
    std::string streamed;
    auto result = engine->generate("", greedy(kReferenceTokens), [&](std::string_view t) {
      streamed += t;
      return true;
    });
    INFO("threads " << threads);
    CHECK(result.text == expected);
    CHECK(streamed == expected);
    CHECK(result.tokens.size() == kReferenceTokens);
    CHECK(result.stop_reason == StopReason::max_tokens);
  }
}

TEST_CASE("every CPU kernel path gives the reference tokens", "[engine][golden]") {
  auto reference = load(test::model_path(), 1, "reference")->generate("", greedy(kReferenceTokens));
  for (const char* kernels : {"avx2", "avx512"}) {
    std::unique_ptr<Engine> engine;
    try {
      engine = load(test::model_path(), 1, kernels);
    } catch (const Error&) {
      continue;  // not supported by this CPU
    }
    INFO(kernels);
    CHECK(engine->generate("", greedy(kReferenceTokens)).tokens == reference.tokens);
  }
}

TEST_CASE("the multi-head twin gives the same tokens", "[engine][golden]") {
  auto gqa = load(test::model_path())->generate("", greedy(kReferenceTokens));
  auto mha_engine = load(test::mha_model_path());
  CHECK(mha_engine->model_info().kv_heads == 8);
  auto mha = mha_engine->generate("", greedy(kReferenceTokens));
  CHECK(mha.tokens == gqa.tokens);
}

TEST_CASE("a mixed batch gives each sequence the logits it gets alone", "[engine][batch]") {
  auto engine = load(test::model_path());
  auto prompt_a = engine->tokenize("Once upon a time", true, false);
  auto prompt_b = engine->tokenize("The dog ran", true, false);

  auto alone = [&](const std::vector<int32_t>& prompt) {
    auto s = engine->create_sequence();
    auto logits = engine->prefill(s, prompt);
    engine->drop_sequence(s);
    return logits;
  };
  auto logits_a = alone(prompt_a), logits_b = alone(prompt_b);

  auto a = engine->create_sequence(), b = engine->create_sequence();
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < std::max(prompt_a.size(), prompt_b.size()); ++i) {
    if (i < prompt_a.size())
      batch.push_back({prompt_a[i], int32_t(i), a, i + 1 == prompt_a.size()});
    if (i < prompt_b.size())
      batch.push_back({prompt_b[i], int32_t(i), b, i + 1 == prompt_b.size()});
  }
  std::vector<float> logits;
  engine->decode(batch, logits);
  const size_t vocab = engine->model_info().vocab_size;
  REQUIRE(logits.size() == 2 * vocab);
  // Row order follows the batch: b's last token comes after a's when b is longer.
  bool a_first = prompt_a.size() <= prompt_b.size();
  const float* row_a = logits.data() + (a_first ? 0 : vocab);
  const float* row_b = logits.data() + (a_first ? vocab : 0);
  for (size_t i = 0; i < vocab; ++i) {
    REQUIRE(row_a[i] == Approx(logits_a[i]).margin(1e-4));
    REQUIRE(row_b[i] == Approx(logits_b[i]).margin(1e-4));
  }
}

TEST_CASE("a forked sequence continues like its parent", "[engine][kv]") {
  auto engine = load(test::model_path());
  auto prompt = engine->tokenize("Once upon a time there was", true, false);
  auto parent = engine->create_sequence();
  auto logits = engine->prefill(parent, prompt);
  auto child = engine->fork_sequence(parent);
  CHECK(engine->kv_cache_stats().shared_blocks > 0);
  int32_t n = engine->sequence_length(parent);
  std::vector<float> from_parent, from_child;
  BatchToken next{42, n, parent, true};
  engine->decode({&next, 1}, from_parent);
  next.sequence = child;
  engine->decode({&next, 1}, from_child);
  CHECK(from_parent == from_child);

  // Truncating back and re-feeding gives the same logits again.
  engine->truncate_sequence(child, n);
  engine->decode({&next, 1}, from_child);
  CHECK(from_parent == from_child);
  engine->drop_sequence(parent);
  engine->drop_sequence(child);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
}

TEST_CASE("invalid batches are refused before anything changes", "[engine][batch]") {
  auto engine = load(test::model_path());
  auto s = engine->create_sequence();
  std::vector<float> logits;
  BatchToken bad_position{1, 3, s, true};
  CHECK_THROWS_WITH(engine->decode({&bad_position, 1}, logits), Catch::Contains("position 3"));
  BatchToken bad_token{99999, 0, s, true};
  CHECK_THROWS_WITH(engine->decode({&bad_token, 1}, logits), Catch::Contains("token 99999"));
  BatchToken bad_sequence{1, 0, 777, true};
  CHECK_THROWS_WITH(engine->decode({&bad_sequence, 1}, logits), Catch::Contains("sequence 777"));
  CHECK(engine->sequence_length(s) == 0);
}

TEST_CASE("a small KV budget is an error for that request only", "[engine][kv]") {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.kv_cache_bytes = 1;  // one block: 16 positions
  auto engine = Engine::load(o);
  CHECK_THROWS_WITH(engine->generate("", greedy(40)), Catch::Contains("out of memory"));
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  // The code says which kind of failure it was, without reading the text.
  auto code_of = [&](const GenerationOptions& g) -> std::optional<ErrorCode> {
    try {
      engine->generate("", g);
    } catch (const Error& e) {
      return e.code();
    }
    return std::nullopt;
  };
  CHECK(code_of(greedy(40)) == ErrorCode::out_of_memory);
  GenerationOptions bad = greedy(4);
  bad.sampling.top_p = 0;
  CHECK(code_of(bad) == ErrorCode::invalid_argument);
  CHECK(engine->generate("", greedy(10)).tokens.size() == 10);
}

TEST_CASE("sampling is reproducible for a seed and stops on stop strings", "[engine][sampling]") {
  auto engine = load(test::model_path());
  GenerationOptions g;
  g.max_tokens = 60;
  g.sampling.seed = 1234;
  g.sampling.temperature = 1.0f;
  auto first = engine->generate("Once upon a time", g);
  auto second = engine->generate("Once upon a time", g);
  CHECK(first.tokens == second.tokens);
  g.sampling.seed = 99;
  CHECK(engine->generate("Once upon a time", g).tokens != first.tokens);

  auto full = engine->generate("", greedy(60));
  GenerationOptions stop = greedy(60);
  stop.stop = {"Lily"};
  std::string streamed;
  auto stopped = engine->generate("", stop, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  CHECK(stopped.stop_reason == StopReason::stop_string);
  CHECK(stopped.text == full.text.substr(0, full.text.find("Lily")));
  CHECK(streamed == stopped.text);
}

TEST_CASE("a prompt's continuation keeps its leading space", "[engine]") {
  auto engine = load(test::model_path());
  auto prompt = engine->tokenize("Once upon a time, there", true, false);
  auto result = engine->generate("Once upon a time, there", greedy(3));
  REQUIRE(result.text[0] == ' ');  // " was"
  auto all = prompt;
  all.insert(all.end(), result.tokens.begin(), result.tokens.end());
  CHECK(engine->detokenize(prompt) + result.text == engine->detokenize(all));
}

TEST_CASE("a GPU device gives the reference text; absent, it is a clear error", "[engine][gpu]") {
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  EngineOptions o;
  o.model_path = test::model_path();
  o.device = "auto";
  CHECK_FALSE(Engine::load(o)->model_info().device.empty());
  for (const char* name : {"cuda", "hip"}) {
    INFO(name);
    o.device = std::string(name) + ":0";
    const backend::BackendEntry* entry = backend::find_backend(name);
    if (!entry) {
      CHECK_THROWS_WITH(Engine::load(o),
                        Catch::Contains("no " + std::string(name) + " backend in this build"));
      continue;
    }
    if (entry->kernel_paths().empty()) {
      WARN(name << ": " << entry->unavailable_reason() << "; the device run is skipped");
      CHECK_THROWS_WITH(Engine::load(o),
                        Catch::Contains(o.device) && Catch::Contains(entry->unavailable_reason()));
      continue;
    }
    auto engine = Engine::load(o);
    CHECK(engine->model_info().device == o.device);
    CHECK(engine->generate("", greedy(kReferenceTokens)).text == expected);
  }
  o.device = "gpu";
  CHECK_THROWS_WITH(Engine::load(o), Catch::Contains("\"gpu\" is not a device"));
}

TEST_CASE("bad model files and options are clear errors", "[engine]") {
  CHECK_THROWS_WITH(load("/no/such/model.gguf"), Catch::Contains("/no/such/model.gguf"));
  CHECK_THROWS_WITH(load(test::source_path("tests/data/tokenizer/ggml-vocab-gpt-2.gguf")),
                    Catch::Contains("token_embd.weight") || Catch::Contains("architecture"));
  CHECK_THROWS_WITH(load(test::model_path(), 1, "sse9"), Catch::Contains("sse9"));
}

TEST_CASE("threads split the work without changing the result", "[engine][threads]") {
  // 100 prompt tokens make every matmul of the small model large enough to run in parallel.
  std::vector<int32_t> prompt;
  for (int i = 0; i < 100; ++i) prompt.push_back(1 + (i * 37) % 500);
  // Odd counts move the chunk bounds; whichever thread runs a chunk must not matter either.
  std::vector<std::vector<float>> logits;
  for (int threads : {1, 2, 3, 5}) {
    auto engine = load(test::model_path(), threads);
    auto s = engine->create_sequence();
    logits.push_back(engine->prefill(s, prompt));
  }
  for (size_t i = 1; i < logits.size(); ++i) CHECK(logits[i] == logits[0]);
}

TEST_CASE("logprobs are the log-softmax of each step's logits, one per token",
          "[engine][sampling]") {
  auto engine = load(test::model_path());
  GenerationOptions g = greedy(8);
  g.logprobs = 4;
  const auto result = engine->generate("Once upon a time", g);
  REQUIRE(result.logprobs.size() == result.tokens.size());

  // The reference: feed the prompt and the generated tokens one by one, and take log-softmax
  // of each row of logits in long double.
  auto sequence = engine->create_sequence();
  std::vector<float> logits =
      engine->prefill(sequence, engine->tokenize("Once upon a time", true, false));
  for (size_t i = 0; i < result.tokens.size(); ++i) {
    INFO("token " << i);
    long double norm = 0;
    const float highest = *std::max_element(logits.begin(), logits.end());
    for (float x : logits) norm += std::exp(static_cast<long double>(x) - highest);
    const auto reference = [&](int32_t t) {
      return static_cast<double>(logits[static_cast<size_t>(t)] - highest - std::log(norm));
    };
    const TokenLogprob& lp = result.logprobs[i];
    CHECK(lp.token == result.tokens[i]);
    CHECK(lp.logprob == Approx(reference(lp.token)).margin(1e-5));
    REQUIRE(lp.top.size() == 4);
    CHECK(lp.top[0].first == lp.token);  // greedy chose the likeliest
    for (size_t k = 0; k < lp.top.size(); ++k) {
      CHECK(lp.top[k].second == Approx(reference(lp.top[k].first)).margin(1e-5));
      if (k > 0) CHECK(lp.top[k].second <= lp.top[k - 1].second);
    }
    logits = engine->prefill(sequence, std::vector<int32_t>{result.tokens[i]});
  }
  engine->drop_sequence(sequence);

  // A stop string cuts the text, and the tokens keep their log-probabilities.
  g.max_tokens = 60;
  g.stop = {"Lily"};
  const auto stopped = engine->generate("", g);
  CHECK(stopped.stop_reason == StopReason::stop_string);
  CHECK(stopped.logprobs.size() == stopped.tokens.size());
  // Without the option, none are made; out of range is refused with its name.
  CHECK(engine->generate("Once", greedy(4)).logprobs.empty());
  g.logprobs = 21;
  CHECK_THROWS_WITH(engine->generate("Once", g), Catch::Contains("logprobs"));
}

TEST_CASE("a polled request hands over its log-probabilities once", "[engine][sampling]") {
  auto engine = load(test::model_path());
  GenerationOptions g = greedy(10);
  g.logprobs = 1;
  Request r = engine->submit("Once upon a time", g);
  const GenerationResult result = r.wait();
  const std::vector<TokenLogprob> taken = r.take_logprobs();
  REQUIRE(taken.size() == result.logprobs.size());
  for (size_t i = 0; i < taken.size(); ++i) {
    CHECK(taken[i].token == result.logprobs[i].token);
    CHECK(taken[i].logprob == result.logprobs[i].logprob);
  }
  CHECK(r.take_logprobs().empty());
}
