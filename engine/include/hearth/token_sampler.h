// hearth: the built-in sampler chain, for callers that drive sequences with Engine::prefill()
// and Engine::decode() themselves (a conversation that keeps its KV cache across turns, for
// instance). It picks tokens exactly as a request with the same SamplingOptions does.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "hearth/generation.h"

namespace hearth {

class TokenSampler {
 public:
  // Throws hearth::Error on options outside their ranges (settings.h). Without a seed, one
  // is drawn at random; seed() tells which, so a run can be repeated.
  explicit TokenSampler(const SamplingOptions& options);
  ~TokenSampler();
  TokenSampler(TokenSampler&&) noexcept;
  TokenSampler& operator=(TokenSampler&&) noexcept;

  uint64_t seed() const;

  // The next token from one row of logits (vocab_size floats), given the tokens so far (the
  // repetition penalty looks back over them).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hearth
