#include "search/sampling_search.h"

#include <string>

#include "hearth/error.h"
#include "sampling/token_logprob.h"

namespace hearth {

SamplingSearch::SamplingSearch(const SamplingOptions& options, uint64_t seed, SequenceId sequence,
                               int32_t next_position, std::vector<int32_t> prompt,
                               int32_t vocab_size, int32_t logprobs)
    : sampler_(options, seed),
      sequence_(sequence),
      next_position_(next_position),
      history_(std::move(prompt)),
      vocab_size_(vocab_size),
      logprobs_(logprobs) {}

void SamplingSearch::step(std::span<const float> logits, SearchStep& out) {
  if (logits.size() != static_cast<size_t>(vocab_size_)) {
    throw Error(
        "sampling: expected one row of logits, got " + std::to_string(logits.size()) + " values",
        ErrorCode::failed);
  }
  const int32_t token = sampler_.sample(logits, history_);
  history_.push_back(token);
  out.tokens.push_back(token);
  if (logprobs_ >= 0) out.logprobs.push_back(token_logprob(logits, token, logprobs_));
  out.rows.push_back({token, next_position_++, sequence_, true});
}

}  // namespace hearth
