// TokenSampler, the public sampler chain for callers that drive prefill() and decode()
// themselves: the same options and seed pick the same tokens as a request does.
#include "hearth/token_sampler.h"

#include <catch2/catch.hpp>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;

TEST_CASE("a TokenSampler over prefill and decode picks a request's tokens", "[sampling]") {
  EngineOptions engine_options;
  engine_options.model_path = test::model_path();
  engine_options.threads = 1;
  engine_options.context_size = 256;
  auto engine = Engine::load(engine_options);

  GenerationOptions generation;
  generation.max_tokens = 24;
  generation.ignore_eos = true;
  generation.sampling.temperature = 0.9f;
  generation.sampling.repeat_penalty = 1.3f;
  generation.sampling.seed = 42;
  const std::vector<int32_t> prompt = engine->tokenize("Once upon a time", true, false);
  const GenerationResult request = engine->generate_tokens(prompt, generation);
  REQUIRE(request.tokens.size() == 24);

  TokenSampler sampler(generation.sampling);
  CHECK(sampler.seed() == 42);
  const SequenceId sequence = engine->create_sequence();
  std::vector<int32_t> history = prompt;
  std::vector<float> logits = engine->prefill(sequence, prompt);
  std::vector<int32_t> driven;
  while (driven.size() < request.tokens.size()) {
    const int32_t token = sampler.sample(logits, history);
    driven.push_back(token);
    const BatchToken next{token, static_cast<int32_t>(history.size()), sequence, true};
    engine->decode({&next, 1}, logits);
    history.push_back(token);
  }
  CHECK(driven == request.tokens);
  engine->drop_sequence(sequence);
}

TEST_CASE("a TokenSampler refuses impossible options and draws a seed without one", "[sampling]") {
  SamplingOptions options;
  options.top_p = 0;
  CHECK_THROWS_AS(TokenSampler(options), Error);
  options.top_p = 1;
  TokenSampler drawn(options);
  TokenSampler moved = std::move(drawn);
  const std::vector<float> logits = {0.0f, 1.0f};
  const int32_t token = moved.sample(logits, {});
  CHECK((token == 0 || token == 1));
}
