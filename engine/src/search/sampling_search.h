// The built-in search strategy: one sequence, one row per step, the next token drawn by the
// sampler chain (greedy at temperature 0).
#pragma once

#include <vector>

#include "sampling/sampler.h"
#include "search/search_strategy.h"

namespace hearth {

class SamplingSearch final : public SearchStrategy {
 public:
  // `sequence` holds the prompt (`prompt` are its tokens, for the repetition penalty).
  // `logprobs` >= 0: each token's TokenLogprob with that many alternatives.
  SamplingSearch(const SamplingOptions& options, uint64_t seed, SequenceId sequence,
                 int32_t next_position, std::vector<int32_t> prompt, int32_t vocab_size,
                 int32_t logprobs = -1);

  void step(std::span<const float> logits, SearchStep& out) override;

 private:
  Sampler sampler_;
  SequenceId sequence_;
  int32_t next_position_;
  std::vector<int32_t> history_;
  int32_t vocab_size_;
  int32_t logprobs_;
};

}  // namespace hearth
