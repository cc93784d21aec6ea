// How a request chooses what comes next (CTranslate2's split of search from sampling): given
// the logits of the rows it asked for, a strategy answers with the tokens that are now final
// and the rows to feed in the next pass. The scheduler runs the passes, so every strategy's
// rows share them with all other requests. The built-in sampler chain is one strategy; a
// decoding plugin, driven step by step through the ABI, is another.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hearth/batch.h"
#include "hearth/generation.h"

namespace hearth {

struct SearchStep {
  std::vector<int32_t> tokens;         // newly final tokens, in order (streamed and stop-checked)
  std::vector<TokenLogprob> logprobs;  // one per token, when the request asked for them
  std::vector<BatchToken> rows;        // to feed in the next pass; empty with finished
  bool finished = false;               // the strategy has nothing more to add
  // With finished, a plugin's scored answers, best first (`tokens` repeats the first).
  struct Scored {
    std::vector<int32_t> tokens;
    float score = 0;
  };
  std::vector<Scored> hypotheses;
};

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;

  // `logits` holds one row of vocab_size floats per row of the previous step that wanted
  // logits, in order; the first call gets the prompt's last-token row. `out` arrives empty.
  // Throws hearth::Error to fail the request.
  virtual void step(std::span<const float> logits, SearchStep& out) = 0;

  // Sequences the strategy made and still holds; the request drops them when it ends.
  virtual std::span<const SequenceId> extra_sequences() const { return {}; }
};

}  // namespace hearth
