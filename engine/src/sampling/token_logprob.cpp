#include "sampling/token_logprob.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hearth {

TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int32_t top) {
  // log p(t) = logit(t) - max - log(sum(exp(logit - max))): the shift keeps exp() in range;
  // the sum in double keeps a 100,000-token vocabulary's small terms.
  float highest = -INFINITY;
  for (float x : logits) highest = std::max(highest, x);
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - highest);
  const double log_norm = highest + std::log(sum);
  const auto logprob_of = [&](int32_t t) {
    return static_cast<float>(static_cast<double>(logits[static_cast<size_t>(t)]) - log_norm);
  };

  TokenLogprob out;
  out.token = token;
  out.logprob = logprob_of(token);
  // The likeliest `top` in one pass, kept sorted best first: a token displaces the kept ones
  // only when its logit is strictly higher, so ties stay with the lower id.
  const auto n = std::min<size_t>(static_cast<size_t>(std::max(top, 0)), logits.size());
  std::vector<int32_t> best;
  best.reserve(n + 1);
  for (size_t t = 0; t < logits.size() && n > 0; ++t) {
    if (best.size() == n && logits[t] <= logits[static_cast<size_t>(best.back())]) continue;
    auto at = std::upper_bound(best.begin(), best.end(), logits[t], [&](float x, int32_t kept) {
      return x > logits[static_cast<size_t>(kept)];
    });
    best.insert(at, static_cast<int32_t>(t));
    if (best.size() > n) best.pop_back();
  }
  out.top.reserve(best.size());
  for (int32_t t : best) out.top.emplace_back(t, logprob_of(t));
  return out;
}

}  // namespace hearth
