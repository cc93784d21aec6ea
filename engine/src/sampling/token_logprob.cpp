#include "sampling/token_logprob.h"

#include <algorithm>
#include <cmath>
#include <numeric>
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
  const auto n = std::min<size_t>(static_cast<size_t>(std::max(top, 0)), logits.size());
  if (n > 0) {
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    const auto better = [&](int32_t a, int32_t b) {
      return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
             (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
    };
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), better);
    out.top.reserve(n);
    for (size_t i = 0; i < n; ++i) out.top.emplace_back(ids[i], logprob_of(ids[i]));
  }
  return out;
}

}  // namespace hearth
