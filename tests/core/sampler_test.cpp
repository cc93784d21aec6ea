#include "sampling/sampler.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include "hearth/error.h"
#include "sampling/token_logprob.h"

using hearth::Candidate;
using hearth::Sampler;
using hearth::SamplingOptions;

namespace {
std::vector<Candidate> candidates(std::vector<float> logits) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < logits.size(); ++i) c.push_back({int32_t(i), logits[i], 0});
  return c;
}
}  // namespace

TEST_CASE("greedy picks the largest logit after the repetition penalty", "[sampling]") {
  SamplingOptions o;
  o.temperature = 0;
  Sampler s(o, 1);
  std::vector<float> logits = {0.1f, 3.0f, 2.9f};
  CHECK(s.sample(logits, {}) == 1);
  o.repeat_penalty = 2.0f;
  Sampler penalised(o, 1);
  std::vector<int32_t> history = {1};
  CHECK(penalised.sample(logits, history) == 2);
}

TEST_CASE("top-k, top-p and min-p keep the right candidates", "[sampling]") {
  auto c = candidates({1, 5, 3, 4, 2});
  Sampler::apply_top_k(c, 3);
  REQUIRE(c.size() == 3);
  CHECK(c[0].token == 1);
  CHECK(c[2].token == 2);

  auto p = candidates({std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)});
  Sampler::apply_top_k(p, 0);
  Sampler::apply_softmax(p, 1.0f);
  CHECK(p[0].probability == Approx(0.5f));
  auto nucleus = p;
  Sampler::apply_top_p(nucleus, 0.75f);
  CHECK(nucleus.size() == 2);
  auto min_p = p;
  Sampler::apply_min_p(min_p, 0.25f);  // threshold 0.125
  CHECK(min_p.size() == 3);
}

TEST_CASE("draws follow the distribution and depend only on the seed", "[sampling]") {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  std::vector<float> logits = {std::log(0.7f), std::log(0.2f), std::log(0.1f)};
  Sampler s(o, 7);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 20000; ++i) counts[s.sample(logits, {})]++;
  CHECK(counts[0] / 20000.0 == Approx(0.7).margin(0.02));
  CHECK(counts[2] / 20000.0 == Approx(0.1).margin(0.02));
  Sampler a(o, 5), b(o, 5);
  for (int i = 0; i < 50; ++i) CHECK(a.sample(logits, {}) == b.sample(logits, {}));
}

TEST_CASE("impossible sampling settings are refused with their name", "[sampling]") {
  auto refusal = [](auto change) {
    SamplingOptions o;
    change(o);
    try {
      Sampler s(o, 1);
    } catch (const hearth::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refusal([](SamplingOptions& o) { o.repeat_penalty = 0; }),
             Catch::Contains("repeat_penalty"));
  CHECK_THAT(refusal([](SamplingOptions& o) { o.top_p = 1.5f; }), Catch::Contains("top_p"));
  CHECK_THAT(refusal([](SamplingOptions& o) { o.min_p = -0.1f; }), Catch::Contains("min_p"));
  CHECK_THAT(refusal([](SamplingOptions& o) { o.top_k = -2; }), Catch::Contains("top_k"));
  CHECK(refusal([](SamplingOptions& o) { o.temperature = 0; }).empty());
}

TEST_CASE("token log-probabilities match a plain log-softmax, far from zero too", "[sampling]") {
  std::mt19937 random(5);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (float shift : {0.0f, 1000.0f, -1000.0f}) {
    std::vector<float> logits(5000);
    for (float& x : logits) x = normal(random) + shift;
    logits[17] = logits[42] = 30.0f + shift;  // a tie at the top
    // The reference: log(exp(x_t) / sum(exp(x))) with the shift undone in long double.
    long double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<long double>(x - shift));
    const auto reference = [&](int32_t t) {
      return static_cast<double>(static_cast<long double>(logits[t] - shift) - std::log(sum));
    };
    INFO("shift " << shift);
    const hearth::TokenLogprob lp = hearth::token_logprob(logits, 1234, 5);
    CHECK(lp.token == 1234);
    CHECK(lp.logprob == Approx(reference(1234)).margin(1e-4));
    REQUIRE(lp.top.size() == 5);
    CHECK(lp.top[0].first == 17);  // ties go to the lower id
    CHECK(lp.top[1].first == 42);
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    for (size_t k = 0; k < 5; ++k) {
      CHECK(lp.top[k].first == order[k]);
      CHECK(lp.top[k].second == Approx(reference(order[k])).margin(1e-4));
    }
  }
  std::vector<float> three = {1.0f, 2.0f, 3.0f};
  const hearth::TokenLogprob all = hearth::token_logprob(three, 0, 10);  // more than the vocabulary
  REQUIRE(all.top.size() == 3);
  double total = 0;
  for (const auto& [token, logprob] : all.top) total += std::exp(logprob);
  CHECK(total == Approx(1.0));
  CHECK(hearth::token_logprob(three, 2, 0).top.empty());
}
