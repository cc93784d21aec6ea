// The built-in sampling strategy as a chain of small steps over a candidate list, seeded for
// reproducibility (the same seed, model and prompt give the same tokens on every run).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hearth/generation.h"

namespace hearth {

struct Candidate {
  int32_t token;
  float logit;
  float probability;
};

class Sampler {
 public:
  Sampler(const SamplingOptions& options, uint64_t seed);

  // Picks the next token from one row of logits, given the tokens so far (for the penalty).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  // The steps, public so tests can check each one.
  static void apply_repeat_penalty(std::vector<Candidate>& c, std::span<const int32_t> history,
                                   float penalty, int32_t last_n);
  static void apply_top_k(std::vector<Candidate>& c, int32_t k);  // sorts by logit, descending
  static void apply_softmax(std::vector<Candidate>& c, float temperature);
  static void apply_top_p(std::vector<Candidate>& c, float p);  // needs sorted probabilities
  static void apply_min_p(std::vector<Candidate>& c, float p);

 private:
  double next_uniform();  // [0, 1), from a fixed generator so results are portable

  SamplingOptions options_;
  uint64_t state_;
  std::vector<Candidate> candidates_;
};

}  // namespace hearth
