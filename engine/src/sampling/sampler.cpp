#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "hearth/error.h"
#include "hearth/settings.h"

namespace hearth {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::end_of_generation:
      return "end of generation";
    case StopReason::stop_string:
      return "stop string";
    case StopReason::max_tokens:
      return "token limit";
    case StopReason::context_full:
      return "context full";
    case StopReason::cancelled:
      return "cancelled";
  }
  return "unknown";
}

Sampler::Sampler(const SamplingOptions& options, uint64_t seed) : options_(options), state_(seed) {
  settings::validate(options);  // the same rule as the command line and TOML
}

double Sampler::next_uniform() {
  // splitmix64: tiny, fast, and specified here so a seed means the same on every platform.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

void Sampler::apply_repeat_penalty(std::vector<Candidate>& c, std::span<const int32_t> history,
                                   float penalty, int32_t last_n) {
  if (penalty == 1.0f || last_n == 0 || history.empty()) return;
  size_t n = last_n < 0 ? history.size() : std::min<size_t>(history.size(), last_n);
  std::unordered_set<int32_t> recent(history.end() - n, history.end());
  for (auto& cand : c) {
    if (!recent.count(cand.token)) continue;
    // As in llama.cpp (CTRL paper): shrink positive logits, push negative ones further down.
    cand.logit = cand.logit > 0 ? cand.logit / penalty : cand.logit * penalty;
  }
}

void Sampler::apply_top_k(std::vector<Candidate>& c, int32_t k) {
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
  };
  if (k > 0 && static_cast<size_t>(k) < c.size()) {
    std::partial_sort(c.begin(), c.begin() + k, c.end(), by_logit);
    c.resize(k);
  } else {
    std::sort(c.begin(), c.end(), by_logit);
  }
}

void Sampler::apply_softmax(std::vector<Candidate>& c, float temperature) {
  float max_logit = c.front().logit;
  for (const auto& cand : c) max_logit = std::max(max_logit, cand.logit);
  double sum = 0;
  for (auto& cand : c) {
    cand.probability = std::exp((cand.logit - max_logit) / temperature);
    sum += cand.probability;
  }
  for (auto& cand : c) cand.probability = static_cast<float>(cand.probability / sum);
}

void Sampler::apply_top_p(std::vector<Candidate>& c, float p) {
  if (p >= 1.0f) return;
  double cumulative = 0;
  size_t keep = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    cumulative += c[i].probability;
    if (cumulative >= p) {
      keep = i + 1;
      break;
    }
  }
  c.resize(std::max<size_t>(1, keep));
}

void Sampler::apply_min_p(std::vector<Candidate>& c, float p) {
  if (p <= 0.0f) return;
  float threshold = c.front().probability * p;
  size_t keep = 1;
  while (keep < c.size() && c[keep].probability >= threshold) ++keep;
  c.resize(keep);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  }
  apply_repeat_penalty(candidates_, history, options_.repeat_penalty, options_.repeat_last_n);
  if (options_.temperature <= 0.0f) {
    auto best =
        std::max_element(candidates_.begin(), candidates_.end(),
                         [](const Candidate& a, const Candidate& b) { return a.logit < b.logit; });
    return best->token;
  }
  apply_top_k(candidates_, options_.top_k);
  // top-p and min-p are judged on the untempered distribution, as in llama.cpp.
  apply_softmax(candidates_, 1.0f);
  apply_top_p(candidates_, options_.top_p);
  apply_min_p(candidates_, options_.min_p);
  apply_softmax(candidates_, options_.temperature);
  double r = next_uniform(), cumulative = 0;
  for (const auto& cand : candidates_) {
    cumulative += cand.probability;
    if (r < cumulative) return cand.token;
  }
  return candidates_.back().token;
}

}  // namespace hearth
