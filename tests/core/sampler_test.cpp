#include "sampling/sampler.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "hearth/error.h"

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
