// The rules of beam search, apart from where the beams' KV cache lives: one step takes the
// logits of every running beam and says which beams continue, from which parent, with which
// token. The rules are Hugging Face's generate(num_beams=k, do_sample=False); README.md in this
// folder writes them down.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "beam_options.h"

namespace trie_beam {

struct Beam {
  std::vector<int32_t> tokens;  // generated so far, prompt excluded
  double score = 0;             // summed log-probabilities
};

// A running beam of the next step: `parent` indexes the beams of the step that made it.
struct Continuation {
  int32_t parent = 0;
  int32_t token = 0;
};

struct FinishedHypothesis {
  std::vector<int32_t> tokens;  // generated tokens, the EOS included when one ended it
  double score = 0;             // summed log-probabilities / length ^ length_penalty
  double sum_logprobs = 0;
};

class BeamSearch {
 public:
  // `max_new_tokens` is the length limit already combined with the request's and the context.
  BeamSearch(const BeamOptions& options, std::vector<int32_t> prompt, int32_t vocab_size,
             std::vector<int32_t> eos, int32_t max_new_tokens);

  // The running beams; one at the start (the prompt alone).
  const std::vector<Beam>& beams() const { return beams_; }

  // One step: `logits[i]` are the logits after beam i. Returns the new beams' parents and
  // tokens, in beam order, or an empty list when the search is over.
  std::vector<Continuation> step(std::span<const float* const> logits);

  bool done() const { return done_; }
  size_t finished_count() const { return finished_.size(); }

  // Best first, at most num_return_sequences; only once done().
  std::vector<FinishedHypothesis> result() const;

  // Candidates ranked per step: max(2, 1 + number of EOS ids) x k.
  int32_t candidates_per_step() const;

 private:
  bool is_eos(int32_t token) const;
  void banned_tokens(const Beam& beam, std::vector<int32_t>& banned) const;
  void add_finished(std::vector<int32_t> tokens, double sum_logprobs);
  bool finished_set_is_done(double best_sum_logprobs, int32_t generated_length) const;
  void finish_running_beams();

  BeamOptions options_;
  std::vector<int32_t> prompt_;
  int32_t vocab_size_;
  std::vector<int32_t> eos_;
  int32_t max_new_tokens_;
  std::vector<Beam> beams_;
  std::vector<FinishedHypothesis> finished_;  // at most num_beams, in insertion order
  double worst_finished_ = 1e9;
  bool done_ = false;
  // Scratch reused by every step: one beam's banned tokens and its best (logit, token) pairs.
  std::vector<int32_t> banned_;
  std::vector<std::pair<float, int32_t>> best_;
  std::vector<float> chunk_max_;  // per chunk of a row of logits, for step()
};

}  // namespace trie_beam
