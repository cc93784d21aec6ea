#include "hearth/token_sampler.h"

#include <random>

#include "sampling/sampler.h"

namespace hearth {

struct TokenSampler::State {
  uint64_t seed;
  Sampler sampler;
};

TokenSampler::TokenSampler(const SamplingOptions& options) {
  // The same seed rule as a request (scheduler.cpp): the given one, else a random one.
  const uint64_t seed = options.seed.value_or(std::random_device{}());
  state_ = std::make_unique<State>(State{seed, Sampler(options, seed)});
}

TokenSampler::~TokenSampler() = default;
TokenSampler::TokenSampler(TokenSampler&&) noexcept = default;
TokenSampler& TokenSampler::operator=(TokenSampler&&) noexcept = default;

uint64_t TokenSampler::seed() const { return state_->seed; }

int32_t TokenSampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  return state_->sampler.sample(logits, history);
}

}  // namespace hearth
