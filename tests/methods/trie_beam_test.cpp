// The trie_beam plugin, loaded from disk, against a plain reference beam search written here:
// every beam its own full, unshared KV sequence recomputed from the prompt each step, and the
// rules of Hugging Face's generate(num_beams=k, do_sample=False) written out directly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "synthetic_model.h"
#include "test_paths.h"

using namespace hearth;

namespace {

struct Settings {
  int32_t k = 4;
  double length_penalty = 1;
  std::string early_stopping = "false";
  int32_t max_new = 24;
  int32_t num_return = 1;
  std::vector<int32_t> eos;  // empty: the model's
  int32_t no_repeat_ngram = 0;
};

struct Ranked {
  std::vector<int32_t> tokens;
  double score;
};

std::unique_ptr<Engine> load(const std::string& model, std::vector<PluginConfig> plugins = {}) {
  EngineOptions o;
  o.model_path = model;
  o.threads = 1;
  o.context_size = 1024;  // the KV cache holds one context: room for 8 beams of 40 tokens
  o.plugins = std::move(plugins);
  return Engine::load(o);
}

// The reference: Hugging Face's BeamSearchScorer and BeamHypotheses, step by step.
std::vector<Ranked> reference_beam_search(Engine& engine, const std::vector<int32_t>& prompt,
                                          const Settings& s, const std::vector<int32_t>& eos) {
  struct Beam {
    std::vector<int32_t> tokens;
    double score;
  };
  struct Candidate {
    double score;
    size_t beam;
    int32_t token;
  };
  const int32_t vocab = engine.model_info().vocab_size;
  const size_t k = static_cast<size_t>(s.k);
  std::vector<Beam> beams{{{}, 0.0}};
  std::vector<Ranked> hyps;  // insertion order
  double worst = 1e9;
  auto add = [&](std::vector<int32_t> tokens, double sum) {
    const double score = sum / std::pow(static_cast<double>(tokens.size()), s.length_penalty);
    if (hyps.size() >= k && !(score > worst)) return;
    hyps.push_back({std::move(tokens), score});
    if (hyps.size() > k) {
      std::vector<size_t> idx(hyps.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::stable_sort(idx.begin(), idx.end(),
                       [&](size_t a, size_t b) { return hyps[a].score < hyps[b].score; });
      worst = hyps[idx[1]].score;
      hyps.erase(hyps.begin() + static_cast<std::ptrdiff_t>(idx[0]));
    } else {
      worst = std::min(worst, score);
    }
  };
  auto is_done = [&](double best, int32_t length) {
    if (hyps.size() < k) return false;
    if (s.early_stopping == "true") return true;
    double bound_length = length;
    if (s.early_stopping == "never" && s.length_penalty > 0) bound_length = s.max_new;
    return worst >= best / std::pow(bound_length, s.length_penalty);
  };
  const size_t keep = std::max<size_t>(2, 1 + eos.size()) * k;
  bool done = false;
  for (int32_t length = 1; length <= s.max_new && !done; ++length) {
    std::vector<Candidate> candidates;
    for (size_t b = 0; b < beams.size(); ++b) {
      std::vector<int32_t> text = prompt;
      text.insert(text.end(), beams[b].tokens.begin(), beams[b].tokens.end());
      const SequenceId sequence = engine.create_sequence();
      const std::vector<float> logits = engine.prefill(sequence, text);
      engine.drop_sequence(sequence);
      double max = logits[0];
      for (float v : logits) max = std::max(max, static_cast<double>(v));
      double sum = 0;
      for (float v : logits) sum += std::exp(v - max);
      const double lse = max + std::log(sum);
      std::vector<bool> banned(static_cast<size_t>(vocab), false);
      const size_t n = static_cast<size_t>(s.no_repeat_ngram);
      if (n > 0 && text.size() + 1 >= n) {
        for (size_t start = 0; start + n <= text.size(); ++start) {
          bool same = true;
          for (size_t j = 0; j + 1 < n; ++j) {
            same = same && text[start + j] == text[text.size() - (n - 1) + j];
          }
          if (same) banned[static_cast<size_t>(text[start + n - 1])] = true;
        }
      }
      for (int32_t t = 0; t < vocab; ++t) {
        const double logprob = banned[t] ? -INFINITY : logits[t] - lse;
        candidates.push_back({beams[b].score + logprob, b, t});
      }
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
    });
    candidates.resize(keep);
    std::vector<Beam> next;
    for (size_t rank = 0; rank < candidates.size() && next.size() < k; ++rank) {
      const Candidate& c = candidates[rank];
      std::vector<int32_t> tokens = beams[c.beam].tokens;
      tokens.push_back(c.token);
      if (std::find(eos.begin(), eos.end(), c.token) != eos.end()) {
        if (rank < k) add(std::move(tokens), c.score);
        continue;
      }
      next.push_back({std::move(tokens), c.score});
    }
    done = is_done(candidates.front().score, length);
    beams = std::move(next);
    if (!done && length == s.max_new) {
      for (const Beam& beam : beams) add(beam.tokens, beam.score);
    }
  }
  std::stable_sort(hyps.begin(), hyps.end(),
                   [](const Ranked& a, const Ranked& b) { return a.score < b.score; });
  std::reverse(hyps.begin(), hyps.end());
  hyps.resize(std::min(hyps.size(), static_cast<size_t>(s.num_return)));
  return hyps;
}

// The plugin's hypotheses are the reference's, token for token, scores within 1e-4.
void check_matches(const GenerationResult& got, const std::vector<Ranked>& expected) {
  REQUIRE(got.hypotheses.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(got.hypotheses[i].tokens == expected[i].tokens);
    CHECK(std::abs(got.hypotheses[i].score - expected[i].score) < 1e-4);
  }
}

PluginConfig trie_beam(const Settings& s,
                       std::vector<std::pair<std::string, std::string>> extra = {}) {
  PluginConfig p;
  p.name = "trie_beam";
  p.path = test::binary_path("lib/hearth/plugins/hearth-trie_beam.so");
  p.options = {{"num_beams", std::to_string(s.k)},
               {"length_penalty", std::to_string(s.length_penalty)},
               {"early_stopping", s.early_stopping},
               {"num_return_sequences", std::to_string(s.num_return)}};
  if (!s.eos.empty()) {
    std::string ids;
    for (int32_t id : s.eos) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    p.options.push_back({"eos_token_id", ids});
  }
  if (s.no_repeat_ngram > 0) {
    p.options.push_back({"no_repeat_ngram_size", std::to_string(s.no_repeat_ngram)});
  }
  for (auto& e : extra) p.options.push_back(std::move(e));
  return p;
}

GenerationResult run_plugin(const std::string& model, const Settings& s,
                            const std::vector<int32_t>& prompt) {
  auto engine = load(model, {trie_beam(s)});
  GenerationOptions options;
  options.max_tokens = s.max_new;
  options.strategy = "trie_beam";
  return engine->generate_tokens(prompt, options);
}

// A small random-weight llama (GQA, 64 tokens) whose next-token distributions are peaked like a
// trained model's, so beams both agree and diverge, and EOS (id 2) ends some of them early.
const std::string& synthetic_model_path() {
  static const test::TempFile file = [] {
    test::Variant v;
    v.dim = 64;
    v.heads = 4;
    v.kv_heads = 2;
    v.ffn = 128;
    v.vocab = 64;
    v.rope_dims = 16;
    v.context_length = 1024;
    v.output_scale = 4.0f;
    return test::TempFile("hearth-beam-synthetic", build_gguf(v, random_weights(v, 20261202)));
  }();
  static const std::string path = file.path.string();
  return path;
}

// The metrics fixture that counts events (tests/plugins/test_counter.cpp).
PluginConfig event_counter() {
  PluginConfig counter;
  counter.name = "test_counter";
  counter.path = test::binary_path("tests/plugins/hearth-test_counter.so");
  return counter;
}

std::string refusal(const std::vector<std::pair<std::string, std::string>>& options) {
  PluginConfig p = trie_beam(Settings{});
  p.options = options;
  try {
    load(test::model_path(), {p});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("trie beam search gives the reference beam search's hypotheses and scores") {
  const std::string model =
      GENERATE(test::model_path(), test::mha_model_path(), synthetic_model_path());
  const int32_t k = GENERATE(1, 2, 4, 8);
  const std::string early = GENERATE("false", "true", "never");
  const double penalty = GENERATE(0.0, 1.0, 2.0);
  Settings s;
  s.k = k;
  s.early_stopping = early;
  s.length_penalty = penalty;
  s.num_return = k;
  CAPTURE(model, k, early, penalty);

  auto reference_engine = load(model);
  const std::vector<int32_t> prompt = reference_engine->tokenize("Once upon a time", true, false);
  std::vector<int32_t> eos;
  for (int32_t t = 0; t < reference_engine->model_info().vocab_size; ++t) {
    if (reference_engine->is_end_of_generation(t)) eos.push_back(t);
  }
  const std::vector<Ranked> expected = reference_beam_search(*reference_engine, prompt, s, eos);
  const GenerationResult got = run_plugin(model, s, prompt);

  check_matches(got, expected);
}

TEST_CASE("trie beam search with EOS lists and n-gram bans matches the reference") {
  // Frequent tokens of this model's stories as EOS, so hypotheses finish early and often, at
  // every rank; two of them mean 3k candidates per step.
  const std::vector<int32_t> eos =
      GENERATE(std::vector<int32_t>{267}, std::vector<int32_t>{267, 295});
  const int32_t ngram = GENERATE(0, 2, 3);
  const int32_t k = GENERATE(2, 4, 8);
  const std::string early = GENERATE("false", "never");
  Settings s;
  s.k = k;
  s.eos = eos;
  s.no_repeat_ngram = ngram;
  s.early_stopping = early;
  s.num_return = k;
  s.max_new = 32;
  CAPTURE(eos, ngram, k, early);

  auto reference_engine = load(test::model_path());
  const std::vector<int32_t> prompt = reference_engine->tokenize("Once upon a time", true, false);
  const std::vector<Ranked> expected = reference_beam_search(*reference_engine, prompt, s, eos);
  auto engine = load(test::model_path(), {trie_beam(s)});
  GenerationOptions options;
  options.max_tokens = s.max_new;
  options.strategy = "trie_beam";
  options.ignore_eos = true;  // the plugin's EOS ids are not the model's
  const GenerationResult got = engine->generate_tokens(prompt, options);

  check_matches(got, expected);
}

TEST_CASE("beam search requests share the scheduler with sampling requests") {
  Settings s;
  s.k = 4;
  s.num_return = 2;
  const std::string prompts[] = {"Once upon a time", "The little dog", "Lily and Ben went"};
  std::vector<GenerationResult> alone;
  {
    auto engine = load(test::model_path(), {trie_beam(s)});
    for (const std::string& p : prompts) {
      GenerationOptions o;
      o.max_tokens = 24;
      o.strategy = "trie_beam";
      alone.push_back(engine->generate(p, o));
    }
  }
  auto engine = load(test::model_path(), {trie_beam(s)});
  GenerationOptions sampling;
  sampling.max_tokens = 48;
  sampling.sampling.seed = 7;
  sampling.strategy = "sampling";
  const GenerationResult sampled_alone = engine->generate("Tim had a ball", sampling);

  std::vector<Request> requests;
  Request sampled = engine->submit("Tim had a ball", sampling);
  for (const std::string& p : prompts) {
    GenerationOptions o;
    o.max_tokens = 24;
    o.strategy = "trie_beam";
    requests.push_back(engine->submit(p, o));
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerationResult together = requests[i].wait();
    REQUIRE(together.hypotheses.size() == alone[i].hypotheses.size());
    for (size_t h = 0; h < together.hypotheses.size(); ++h) {
      CHECK(together.hypotheses[h].tokens == alone[i].hypotheses[h].tokens);
      CHECK(together.hypotheses[h].score == alone[i].hypotheses[h].score);
    }
    CHECK(together.text == alone[i].text);
  }
  CHECK(sampled.wait().tokens == sampled_alone.tokens);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
}

TEST_CASE("each beam search step is an event for the metrics plugins") {
  Settings s;
  s.k = 4;
  const PluginConfig counter = event_counter();
  PluginConfig old_counter = counter;  // declares ABI 1.0: DECODE_STEP is newer
  old_counter.name = "test_counter_v1_0";
  old_counter.path = test::binary_path("tests/plugins/hearth-test_counter_v1_0.so");
  auto engine = load(test::model_path(), {trie_beam(s), counter, old_counter});
  GenerationOptions options;
  options.max_tokens = 16;
  options.strategy = "trie_beam";
  engine->generate("Once upon a time", options);
  std::map<std::string, std::string> seen;
  for (auto& [key, value] : engine->metrics_snapshot("test_counter")) seen[key] = value;
  const int steps = std::stoi(seen.at("decode_step"));
  CHECK(steps >= 2);
  CHECK(steps <= 16);
  CHECK(seen.at("max_live_branches") == "4");
  CHECK(std::stoull(seen.at("max_kv_shared_bytes")) > 0);  // the beams share the prompt's blocks
  for (auto& [key, value] : engine->metrics_snapshot("test_counter_v1_0")) {
    if (key == "decode_step") CHECK(value == "0");
    if (key == "request_end") CHECK(value == "1");
  }
}

TEST_CASE("beams that copy the whole cache give the same hypotheses with more KV memory") {
  Settings s;
  s.k = 8;
  s.num_return = 8;
  auto run = [&](std::vector<std::pair<std::string, std::string>> kv) {
    EngineOptions o;
    o.model_path = test::model_path();
    o.threads = 1;
    o.context_size = 2048;  // room for the reorder's 2 x 8 copies
    o.plugins = {trie_beam(s, std::move(kv))};
    auto engine = Engine::load(o);
    GenerationOptions options;
    options.max_tokens = 32;
    options.strategy = "trie_beam";
    // A long prompt, so the copies show: 8 beams x the prompt's blocks against one set.
    std::string prompt = "Once upon a time, there was a little girl named Lily.";
    for (int i = 0; i < 3; ++i)
      prompt += " She loved to play outside in the park with her friends.";
    GenerationResult result = engine->generate(prompt, options);
    CHECK(engine->kv_cache_stats().used_blocks == 0);
    return std::make_pair(result, engine->kv_cache_stats().peak_live_bytes);
  };
  const auto [shared, shared_peak] = run({{"share_kv", "true"}});
  const auto [copied, copied_peak] = run({{"share_kv", "false"}});
  // Batch beam search's reorder: every beam a fresh copy of its parent at every step.
  const auto [reordered, reordered_peak] = run({{"share_kv", "false"}, {"reorder_kv", "true"}});
  for (const GenerationResult* other : {&copied, &reordered}) {
    REQUIRE(shared.hypotheses.size() == other->hypotheses.size());
    for (size_t i = 0; i < shared.hypotheses.size(); ++i) {
      CHECK(shared.hypotheses[i].tokens == other->hypotheses[i].tokens);
      CHECK(shared.hypotheses[i].score == other->hypotheses[i].score);
    }
  }
  CHECK(copied_peak >= 2 * shared_peak);
  CHECK(reordered_peak > copied_peak);  // the old beams' copies live while the new ones are made
}

TEST_CASE("a request's own beam options take the place of the plugin's") {
  Settings plugin_settings;  // k = 4, one hypothesis returned
  auto engine = load(test::model_path(), {trie_beam(plugin_settings)});
  const std::vector<int32_t> prompt = engine->tokenize("Once upon a time", true, false);
  GenerationOptions options;
  options.max_tokens = 24;
  options.strategy = "trie_beam";
  options.strategy_options = {
      {"num_beams", "8"}, {"num_return_sequences", "3"}, {"length_penalty", "2"}};
  const GenerationResult got = engine->generate_tokens(prompt, options);

  Settings s;
  s.k = 8;
  s.num_return = 3;
  s.length_penalty = 2;
  s.max_new = 24;
  std::vector<int32_t> eos;
  for (int32_t t = 0; t < engine->model_info().vocab_size; ++t) {
    if (engine->is_end_of_generation(t)) eos.push_back(t);
  }
  const std::vector<Ranked> expected = reference_beam_search(*engine, prompt, s, eos);
  REQUIRE(got.hypotheses.size() == 3);
  check_matches(got, expected);

  // The next request without options gets the plugin's again.
  options.strategy_options.clear();
  CHECK(engine->generate_tokens(prompt, options).hypotheses.size() == 1);

  // A bad request option fails that request alone, naming the option.
  options.strategy_options = {{"num_beams", "0"}};
  CHECK_THROWS_WITH(engine->generate_tokens(prompt, options), Catch::Contains("num_beams"));
  options.strategy_options = {{"beams", "2"}};
  CHECK_THROWS_WITH(engine->generate_tokens(prompt, options), Catch::Contains("'beams'"));
  CHECK(engine->kv_cache_stats().used_blocks == 0);

  // Options for a sampling request are refused at submit.
  GenerationOptions sampling;
  sampling.strategy = "sampling";
  sampling.strategy_options = {{"num_beams", "2"}};
  CHECK_THROWS_WITH(engine->submit("Once", sampling), Catch::Contains("decoding plugin"));
}

TEST_CASE("one beam is greedy decoding") {
  auto engine = load(test::model_path());
  GenerationOptions greedy;
  greedy.max_tokens = 40;
  greedy.sampling.temperature = 0;
  greedy.strategy = "sampling";
  const GenerationResult plain = engine->generate("Once upon a time", greedy);

  Settings s;
  s.k = 1;
  s.max_new = 40;
  const GenerationResult beam =
      run_plugin(test::model_path(), s, engine->tokenize("Once upon a time", true, false));
  REQUIRE(!beam.hypotheses.empty());
  std::vector<int32_t> tokens = beam.hypotheses.front().tokens;
  if (!tokens.empty() && engine->is_end_of_generation(tokens.back())) tokens.pop_back();
  CHECK(tokens == plain.tokens);
}

TEST_CASE("beam search frees every fork when it ends") {
  Settings s;
  s.k = 8;
  auto engine = load(test::model_path(), {trie_beam(s)});
  GenerationOptions options;
  options.max_tokens = 24;
  options.strategy = "trie_beam";
  const GenerationResult result = engine->generate("Once upon a time", options);
  CHECK(result.hypotheses.size() == 1);
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  for (const PluginInfo& info : engine->plugins()) CHECK(info.leaked_sequences == 0);
}

TEST_CASE("a beam search the KV cache cannot hold is refused before any work") {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 256;  // the cache holds one context: 16 blocks of 16 positions
  Settings s;
  s.k = 8;
  o.plugins = {trie_beam(s), event_counter()};
  auto engine = Engine::load(o);
  GenerationOptions options;
  options.strategy = "trie_beam";
  options.max_tokens = 100;
  CHECK_THROWS_WITH(engine->generate("Once upon a time", options),
                    Catch::Contains("num_beams = 8") && Catch::Contains("the whole cache has"));
  std::map<std::string, std::string> seen;
  for (auto& [key, value] : engine->metrics_snapshot("test_counter")) seen[key] = value;
  CHECK(seen.at("prompt_done") == "0");  // nothing was prefilled
  CHECK(engine->kv_cache_stats().used_blocks == 0);

  // A request's own num_beams is checked the same way, and a smaller search runs.
  options.max_tokens = 8;  // 8 beams x 1 block each fit
  options.strategy_options = {{"num_beams", "8"}};
  CHECK(engine->generate("Once upon a time", options).hypotheses.size() == 1);
  options.max_tokens = 100;
  options.strategy_options = {{"num_beams", "2"}};
  CHECK(engine->generate("Once upon a time", options).hypotheses.size() == 1);
}

TEST_CASE("beam searches wait for the KV blocks their beams may need") {
  // Two 4-beam searches whose beams may each need about half the cache: the second is
  // admitted only once the first has ended, and both give their solo result.
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 256;  // 16 blocks
  Settings s;
  s.k = 4;
  s.num_return = 2;
  o.plugins = {trie_beam(s), event_counter()};
  auto engine = Engine::load(o);
  GenerationOptions options;
  options.strategy = "trie_beam";
  options.max_tokens = 40;  // 4 beams x 3 blocks: 12 of the 15 beyond the prompt's
  const GenerationResult solo = engine->generate("Once upon a time", options);
  Request first = engine->submit("Once upon a time", options);
  Request second = engine->submit("Once upon a time", options);
  const GenerationResult a = first.wait();
  const GenerationResult b = second.wait();
  for (const GenerationResult* r : {&a, &b}) {
    REQUIRE(r->hypotheses.size() == solo.hypotheses.size());
    for (size_t i = 0; i < solo.hypotheses.size(); ++i) {
      CHECK(r->hypotheses[i].tokens == solo.hypotheses[i].tokens);
    }
  }
  // Without the reservation the second would start at once, beside the first.
  std::map<std::string, std::string> seen;
  for (auto& [key, value] : engine->metrics_snapshot("test_counter")) seen[key] = value;
  CHECK(seen.at("request_start") == "3");
  CHECK(seen.at("max_running") == "1");
  CHECK(engine->kv_cache_stats().used_blocks == 0);
}

TEST_CASE("bad beam search options are refused before any work, naming the option") {
  CHECK(refusal({{"num_beams", "0"}}).find("num_beams") != std::string::npos);
  CHECK(refusal({{"num_beams", "2"}, {"num_return_sequences", "3"}}).find("num_return_sequences") !=
        std::string::npos);
  CHECK(refusal({{"num_beamz", "2"}}).find("num_beamz") != std::string::npos);
  CHECK(refusal({{"early_stopping", "sometimes"}}).find("early_stopping") != std::string::npos);
  CHECK(refusal({{"reorder_kv", "true"}}).find("reorder_kv") != std::string::npos);
  CHECK(refusal({{"eos_token_id", "99999"}}).find("eos_token_id") != std::string::npos);
}
