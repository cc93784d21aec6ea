#include "beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace trie_beam {
namespace {

constexpr double kBanned = -std::numeric_limits<double>::infinity();

struct Candidate {
  double score;  // the parent's summed log-probabilities plus this token's
  int32_t beam;
  int32_t token;
};

// Higher score first; ties go to the lower beam, then the lower token id (the order of the
// flattened beam x vocabulary index).
bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.beam != b.beam) return a.beam < b.beam;
  return a.token < b.token;
}

// log_softmax of one row: logit - max - log(sum(exp(logit - max))). Each term is a float exp
// (a third of the cost of a double one, and within an ulp), summed and applied in double.
void log_softmax(const float* logits, int32_t vocab, std::vector<double>& out) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int32_t i = 0; i < vocab; ++i) sum += std::exp(logits[i] - max);
  const double shift = max + std::log(sum);
  out.resize(static_cast<size_t>(vocab));
  for (int32_t i = 0; i < vocab; ++i) out[i] = static_cast<double>(logits[i]) - shift;
}

}  // namespace

BeamSearch::BeamSearch(const BeamOptions& options, std::vector<int32_t> prompt, int32_t vocab_size,
                       std::vector<int32_t> eos, int32_t max_new_tokens)
    : options_(options),
      prompt_(std::move(prompt)),
      vocab_size_(vocab_size),
      eos_(std::move(eos)),
      max_new_tokens_(max_new_tokens),
      beams_(1) {
  if (max_new_tokens_ <= 0) {
    finish_running_beams();
    done_ = true;
  }
}

int32_t BeamSearch::candidates_per_step() const {
  return std::max<int32_t>(2, 1 + static_cast<int32_t>(eos_.size())) * options_.num_beams;
}

bool BeamSearch::is_eos(int32_t token) const {
  return std::find(eos_.begin(), eos_.end(), token) != eos_.end();
}

// A token that would repeat an n-gram already in the prompt and the beam gets -inf.
void BeamSearch::ban_repeated_ngrams(const Beam& beam, std::vector<double>& logprobs) const {
  const size_t n = static_cast<size_t>(options_.no_repeat_ngram_size);
  if (n == 0) return;
  std::vector<int32_t> text(prompt_);
  text.insert(text.end(), beam.tokens.begin(), beam.tokens.end());
  if (text.size() + 1 < n) return;
  // The n - 1 tokens at the end of the text, and every earlier place they occur.
  const size_t tail = text.size() - (n - 1);
  for (size_t start = 0; start + n <= text.size(); ++start) {
    if (std::equal(text.begin() + start, text.begin() + start + (n - 1), text.begin() + tail)) {
      logprobs[static_cast<size_t>(text[start + n - 1])] = kBanned;
    }
  }
}

void BeamSearch::add_finished(std::vector<int32_t> tokens, double sum_logprobs) {
  const double length = static_cast<double>(tokens.size());
  const double score = sum_logprobs / std::pow(length, options_.length_penalty);
  const size_t k = static_cast<size_t>(options_.num_beams);
  if (finished_.size() >= k && !(score > worst_finished_)) return;
  finished_.push_back({std::move(tokens), score, sum_logprobs});
  if (finished_.size() > k) {
    // Drop the worst (the first of equal ones); the next worst becomes the bar.
    std::vector<size_t> order(finished_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return finished_[a].score < finished_[b].score; });
    worst_finished_ = finished_[order[1]].score;
    finished_.erase(finished_.begin() + static_cast<std::ptrdiff_t>(order[0]));
  } else {
    worst_finished_ = std::min(score, worst_finished_);
  }
}

bool BeamSearch::finished_set_is_done(double best_sum_logprobs, int32_t generated_length) const {
  if (finished_.size() < static_cast<size_t>(options_.num_beams)) return false;
  const double lp = options_.length_penalty;
  switch (options_.early_stopping) {
    case EarlyStopping::on_full:
      return true;
    case EarlyStopping::heuristic:
      return worst_finished_ >= best_sum_logprobs / std::pow(generated_length, lp);
    case EarlyStopping::never: {
      // With a positive penalty a longer hypothesis scores higher, so the bound is at the limit.
      const double length = lp > 0 ? max_new_tokens_ : generated_length;
      return worst_finished_ >= best_sum_logprobs / std::pow(length, lp);
    }
  }
  return false;
}

void BeamSearch::finish_running_beams() {
  for (const Beam& beam : beams_) add_finished(beam.tokens, beam.score);
}

std::vector<Continuation> BeamSearch::step(std::span<const float* const> logits) {
  if (done_) return {};
  if (logits.size() != beams_.size()) {
    throw hearth::sdk::Error(HEARTH_ERROR_INVALID_ARGUMENT,
                             "beam search: one row of logits per beam");
  }
  const int32_t k = options_.num_beams;
  const size_t keep = static_cast<size_t>(candidates_per_step());

  // Each beam's best `keep` tokens can hold every candidate of the step's top `keep`.
  std::vector<Candidate> candidates;
  std::vector<double>& logprobs = logprobs_;
  std::vector<int32_t>& order = order_;
  order.resize(static_cast<size_t>(vocab_size_));
  for (size_t b = 0; b < beams_.size(); ++b) {
    log_softmax(logits[b], vocab_size_, logprobs);
    ban_repeated_ngrams(beams_[b], logprobs);
    std::iota(order.begin(), order.end(), 0);
    const size_t take = std::min(keep, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                      [&](int32_t a, int32_t c) {
                        return logprobs[a] != logprobs[c] ? logprobs[a] > logprobs[c] : a < c;
                      });
    for (size_t i = 0; i < take; ++i) {
      const int32_t token = order[i];
      candidates.push_back({beams_[b].score + logprobs[token], static_cast<int32_t>(b), token});
    }
  }
  std::sort(candidates.begin(), candidates.end(), ranks_before);
  if (candidates.size() > keep) candidates.resize(keep);

  const int32_t generated_length = static_cast<int32_t>(beams_.front().tokens.size()) + 1;
  std::vector<Continuation> next;
  std::vector<Beam> next_beams;
  for (size_t rank = 0; rank < candidates.size() && next.size() < static_cast<size_t>(k); ++rank) {
    const Candidate& c = candidates[rank];
    const Beam& parent = beams_[static_cast<size_t>(c.beam)];
    if (is_eos(c.token)) {
      // An EOS outside the top k ends nothing.
      if (rank >= static_cast<size_t>(k)) continue;
      std::vector<int32_t> tokens = parent.tokens;
      tokens.push_back(c.token);
      add_finished(std::move(tokens), c.score);
      continue;
    }
    next.push_back({c.beam, c.token});
    Beam beam{parent.tokens, c.score};
    beam.tokens.push_back(c.token);
    next_beams.push_back(std::move(beam));
  }
  done_ = finished_set_is_done(candidates.front().score, generated_length);
  beams_ = std::move(next_beams);
  if (done_) return {};
  if (beams_.empty() || generated_length >= max_new_tokens_) {
    finish_running_beams();
    done_ = true;
    return {};
  }
  return next;
}

std::vector<FinishedHypothesis> BeamSearch::result() const {
  std::vector<FinishedHypothesis> sorted = finished_;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const FinishedHypothesis& a, const FinishedHypothesis& b) { return a.score < b.score; });
  // Best first; of equal scores the one finished last comes first.
  std::reverse(sorted.begin(), sorted.end());
  if (sorted.size() > static_cast<size_t>(options_.num_return_sequences)) {
    sorted.resize(static_cast<size_t>(options_.num_return_sequences));
  }
  return sorted;
}

}  // namespace trie_beam
