// The trie_beam plugin's beam rules on hand-made logits, where each rule decides the outcome.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "beam_search.h"

using trie_beam::BeamOptions;
using trie_beam::BeamSearch;
using trie_beam::EarlyStopping;

namespace {

constexpr int32_t kVocab = 6;
constexpr int32_t kEos = 5;

std::vector<const float*> rows(const std::vector<std::vector<float>>& logits) {
  std::vector<const float*> out;
  for (const auto& row : logits) out.push_back(row.data());
  return out;
}

double log_softmax(const std::vector<float>& row, int32_t token) {
  double sum = 0;
  for (float v : row) sum += std::exp(v);
  return row[token] - std::log(sum);
}

}  // namespace

TEST_CASE("an EOS ranked below the top k finishes nothing") {
  BeamOptions o;
  o.num_beams = 2;
  o.num_return_sequences = 2;
  BeamSearch search(o, {1}, kVocab, {kEos}, 2);
  // Ranks: token 0, token 1, then EOS third (rank k): it must not become a hypothesis.
  const std::vector<float> first{3.0f, 2.9f, 0, 0, 0, 2.8f};
  auto next = search.step(rows({first}));
  REQUIRE(next.size() == 2);
  CHECK(next[0].token == 0);
  CHECK(next[1].token == 1);
  const std::vector<float> uniform(kVocab, 0.0f);
  CHECK(search.step(rows({uniform, uniform})).empty());
  REQUIRE(search.done());
  const auto result = search.result();
  REQUIRE(result.size() == 2);
  // Both from beam 0 (the better parent), tokens 0 and 1 (ties go to the lower id); of the
  // two equal scores the hypothesis finished last is returned first.
  CHECK(result[0].tokens == std::vector<int32_t>{0, 1});
  CHECK(result[1].tokens == std::vector<int32_t>{0, 0});
  const double expected = (log_softmax(first, 0) + log_softmax(uniform, 0)) / 2;
  CHECK(std::abs(result[0].score - expected) < 1e-6);
  CHECK(result[0].score == result[1].score);
}

TEST_CASE("an EOS within the top k finishes a hypothesis scored with the EOS counted") {
  BeamOptions o;
  o.num_beams = 2;
  o.length_penalty = 2;
  o.early_stopping = EarlyStopping::on_full;
  BeamSearch search(o, {1}, kVocab, {kEos}, 8);
  const std::vector<float> first{2.9f, 0, 0, 0, 0, 3.0f};  // EOS first
  auto next = search.step(rows({first}));
  REQUIRE(next.size() == 2);  // tokens 0 and then one of the tied rest: 1
  CHECK(next[0].token == 0);
  CHECK(next[1].token == 1);
  CHECK_FALSE(search.done());  // one finished of two
  const std::vector<float> eos_first{0, 0, 0, 0, 0, 5.0f};
  CHECK(search.step(rows({eos_first, eos_first})).empty());
  CHECK(search.done());  // early_stopping = true: two finished hypotheses end it
  const auto result = search.result();
  REQUIRE(result.size() == 1);
  // [EOS] scores its log-probability / 1^2; [0, EOS] its sum / 2^2, which is higher here.
  CHECK(result[0].tokens == std::vector<int32_t>{0, kEos});
  const double sum = log_softmax(first, 0) + log_softmax(eos_first, kEos);
  CHECK(std::abs(result[0].score - sum / 4) < 1e-6);
  CHECK(sum / 4 > log_softmax(first, kEos));
}

TEST_CASE("with early_stopping never and a positive penalty the bound is at the length limit") {
  BeamOptions o;
  o.num_beams = 1;
  o.length_penalty = 1;
  // One beam, EOS first at every step: finished after step 1 in heuristic mode, while "never"
  // keeps going as long as a longer hypothesis could still score higher.
  const std::vector<float> row{0, 0, 0, 0, 0, 1.0f};
  for (EarlyStopping mode : {EarlyStopping::heuristic, EarlyStopping::never}) {
    o.early_stopping = mode;
    BeamSearch search(o, {1}, kVocab, {kEos}, 10);
    auto next = search.step(rows({row}));
    CHECK(search.done() == (mode == EarlyStopping::heuristic));
    if (mode == EarlyStopping::never) CHECK(next.size() == 1);
  }
}

TEST_CASE("no_repeat_ngram_size bans the token that would repeat an n-gram") {
  BeamOptions o;
  o.num_beams = 1;
  o.no_repeat_ngram_size = 2;
  // The prompt holds the bigram (3, 4) and ends with 3: token 4 is banned although it is best.
  BeamSearch search(o, {3, 4, 3}, kVocab, {kEos}, 4);
  const std::vector<float> row{0, 0, 0, 0, 5.0f, 0};
  auto next = search.step(rows({row}));
  REQUIRE(next.size() == 1);
  CHECK(next[0].token == 0);
}

TEST_CASE("an EOS ranked k or lower is skipped while the top k still fill the beams") {
  BeamOptions o;
  o.num_beams = 2;
  o.early_stopping = EarlyStopping::on_full;  // two finished hypotheses would end the search
  BeamSearch search(o, {1}, kVocab, {kEos}, 4);
  REQUIRE(search.step(rows({{3.0f, 1.0f, 0, 0, 0, -10.0f}})).size() == 2);
  // Ranks: A+EOS, A+0, B+EOS (rank 2 = k: skipped), B+0.
  const std::vector<float> row{4.0f, 0, 0, 0, 0, 5.0f};
  auto next = search.step(rows({row, row}));
  CHECK_FALSE(search.done());
  REQUIRE(next.size() == 2);
  CHECK(next[0].parent == 0);
  CHECK(next[0].token == 0);
  CHECK(next[1].parent == 1);
  CHECK(next[1].token == 0);
}
