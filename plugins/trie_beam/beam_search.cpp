#include "beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "hearth/fast_exp.hpp"
#include "hearth/vector_clones.hpp"

namespace trie_beam {
namespace {

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

// A row of logits is read in chunks of kChunk: their maxima let the top-k pass skip every
// chunk that cannot hold a kept token.
constexpr int32_t kChunk = 16;

// chunk_max[c] = the largest of x[c * kChunk ...] (a partial last chunk included); returns
// the row's largest value. In lanes, so the loop vectorises.
HEARTH_VECTOR_CLONES float chunk_maxima(const float* x, int32_t n, float* chunk_max) {
  float row[kChunk];
  std::fill(row, row + kChunk, -std::numeric_limits<float>::infinity());
  int32_t c = 0;
  for (; (c + 1) * kChunk <= n; ++c) {
    float lanes[kChunk];
    for (int j = 0; j < kChunk; ++j) lanes[j] = x[c * kChunk + j];
    float m = lanes[0];
    for (int j = 1; j < kChunk; ++j) m = std::max(m, lanes[j]);
    chunk_max[c] = m;
    for (int j = 0; j < kChunk; ++j) row[j] = std::max(row[j], lanes[j]);
  }
  float m = -std::numeric_limits<float>::infinity();
  if (c * kChunk < n) {
    for (int32_t i = c * kChunk; i < n; ++i) m = std::max(m, x[i]);
    chunk_max[c] = m;
  }
  for (float lane : row) m = std::max(m, lane);
  return m;
}

// What log_softmax subtracts from every logit of a row: max + log(sum(exp(logit - max))).
// Each term is a float exp, within 2 ulp; 256 terms are summed in float lanes of 16 terms
// each, and those partial sums in double.
HEARTH_VECTOR_CLONES double log_softmax_shift(const float* logits, int32_t n, float max) {
  constexpr int kLanes = 16, kSpan = 256;
  double sum = 0;
  int32_t i = 0;
  for (; i + kSpan <= n; i += kSpan) {
    float lanes[kLanes] = {};
    for (int32_t s = 0; s < kSpan; s += kLanes) {
      for (int j = 0; j < kLanes; ++j) lanes[j] += hearth::sdk::fast_exp(logits[i + s + j] - max);
    }
    for (float lane : lanes) sum += lane;
  }
  for (; i < n; ++i) sum += hearth::sdk::fast_exp(logits[i] - max);
  return static_cast<double>(max) + std::log(sum);
}

// The `take` best tokens of one row into `best`, best first, of equal logits the lower id
// first; a banned token (ids in `banned`, ascending) counts as -inf. One pass that skips every
// chunk whose largest logit does not beat the worst one kept, and otherwise mostly compares
// each logit with it.
void best_tokens(const float* logits, int32_t n, const float* chunk_max,
                 const std::vector<int32_t>& banned, size_t take,
                 std::vector<std::pair<float, int32_t>>& best) {
  best.clear();
  if (take == 0) return;
  auto ranks_first = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t next_ban = 0;
  for (int32_t begin = 0; begin < n; begin += kChunk) {
    const int32_t end = std::min(n, begin + kChunk);
    // A banned token only lowers a value, so the chunk's maximum still bounds it.
    if (best.size() == take && !(chunk_max[begin / kChunk] > best.back().first)) {
      while (next_ban < banned.size() && banned[next_ban] < end) ++next_ban;
      continue;
    }
    for (int32_t token = begin; token < end; ++token) {
      float value = logits[token];
      if (next_ban < banned.size() && banned[next_ban] == token) {
        value = -std::numeric_limits<float>::infinity();
        ++next_ban;
      }
      // Tokens come in ascending order, so one equal to the worst kept ranks after it.
      if (best.size() == take && !(value > best.back().first)) continue;
      const std::pair<float, int32_t> entry{value, token};
      if (best.size() == take) best.pop_back();
      best.insert(std::upper_bound(best.begin(), best.end(), entry, ranks_first), entry);
    }
  }
}

}  // namespace

BeamSearch::BeamSearch(const BeamOptions& options, std::vector<int32_t> prompt, int32_t vocab_size,
                       std::vector<int32_t> eos, int32_t max_new_tokens)
    : options_(options),
      prompt_(std::move(prompt)),
      vocab_size_(vocab_size),
      eos_(std::move(eos)),
      max_new_tokens_(max_new_tokens),
      beams_(1),
      chunk_max_(static_cast<size_t>((vocab_size + kChunk - 1) / kChunk)) {
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

// The tokens that would repeat an n-gram already in the prompt and the beam, ascending.
void BeamSearch::banned_tokens(const Beam& beam, std::vector<int32_t>& banned) const {
  banned.clear();
  const size_t n = static_cast<size_t>(options_.no_repeat_ngram_size);
  if (n == 0) return;
  std::vector<int32_t> text(prompt_);
  text.insert(text.end(), beam.tokens.begin(), beam.tokens.end());
  if (text.size() + 1 < n) return;
  // The n - 1 tokens at the end of the text, and every earlier place they occur.
  const size_t tail = text.size() - (n - 1);
  for (size_t start = 0; start + n <= text.size(); ++start) {
    if (std::equal(text.begin() + start, text.begin() + start + (n - 1), text.begin() + tail)) {
      banned.push_back(text[start + n - 1]);
    }
  }
  std::sort(banned.begin(), banned.end());
  banned.erase(std::unique(banned.begin(), banned.end()), banned.end());
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
  // Within one beam, log_softmax subtracts the same shift from every logit, so its best
  // tokens by logit are its best by log-probability; only they need the subtraction.
  std::vector<Candidate> candidates;
  const size_t take = std::min(keep, static_cast<size_t>(vocab_size_));
  for (size_t b = 0; b < beams_.size(); ++b) {
    const float max = chunk_maxima(logits[b], vocab_size_, chunk_max_.data());
    const double shift = log_softmax_shift(logits[b], vocab_size_, max);
    banned_tokens(beams_[b], banned_);
    best_tokens(logits[b], vocab_size_, chunk_max_.data(), banned_, take, best_);
    for (const auto& [logit, token] : best_) {
      // A banned token's -inf stays -inf.
      const double logprob = static_cast<double>(logit) - shift;
      candidates.push_back({beams_[b].score + logprob, static_cast<int32_t>(b), token});
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
