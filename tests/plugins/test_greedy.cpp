// Test fixture (decoding): greedy search that goes through every sequence service on the way.
// Each step forks the sequence into two branches and forwards both in one batch (the best
// token on one, the runner-up on the other), keeps the first and drops the second; every few
// steps it truncates the kept branch by one token and feeds that token again. None of this may
// change the result: the tokens must equal plain greedy decoding.
#include <algorithm>
#include <cmath>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::DecodeRequest;
using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Hypothesis;
using hearth::sdk::Options;

constexpr int kRefeedEvery = 4;

struct TopTwo {
  int32_t best = 0;
  int32_t second = 0;
};

// Ties go to the lower token id, as in the core's argmax.
TopTwo top_two(const float* logits, int32_t vocab) {
  TopTwo top;
  top.second = vocab > 1 ? 1 : 0;
  if (vocab > 1 && logits[1] > logits[0]) std::swap(top.best, top.second);
  for (int32_t i = 2; i < vocab; ++i) {
    if (logits[i] > logits[top.best]) {
      top.second = top.best;
      top.best = i;
    } else if (logits[i] > logits[top.second]) {
      top.second = i;
    }
  }
  return top;
}

float log_softmax(const float* logits, int32_t vocab, int32_t token) {
  float max = logits[0];
  for (int32_t i = 1; i < vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  return static_cast<float>(logits[token] - max - std::log(sum));
}

class TestGreedy : public hearth::sdk::DecodingPlugin {
 public:
  TestGreedy(Host host, const Options& options) : DecodingPlugin(host, options) {}

  std::vector<Hypothesis> run(const DecodeRequest& request) override {
    const hearth_model_desc& model = host().model();
    const int32_t vocab = model.vocab_size;
    if (!request.prompt_logits) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "no prompt logits");
    std::vector<float> logits(request.prompt_logits, request.prompt_logits + vocab);

    Hypothesis hypothesis;
    hearth_sequence_id sequence = request.sequence;
    auto limit_reached = [&] {
      return request.max_tokens >= 0 &&
             static_cast<int32_t>(hypothesis.tokens.size()) >= request.max_tokens;
    };
    for (int step = 1; !limit_reached(); ++step) {
      TopTwo top = top_two(logits.data(), vocab);
      if (top.best == model.eos_token) break;
      hypothesis.tokens.push_back(top.best);
      hypothesis.score += log_softmax(logits.data(), vocab, top.best);
      const int32_t position = host().length(sequence);
      if (position >= model.context_size || limit_reached()) break;

      hearth_sequence_id kept = host().fork(sequence);
      hearth_sequence_id dropped = host().fork(sequence);
      host().drop(sequence);
      sequence = kept;
      std::vector<hearth_batch_token> batch = {{top.best, position, kept, 1},
                                               {top.second, position, dropped, 1}};
      auto rows = host().forward(batch);
      if (rows.rows() != 2) throw Error(HEARTH_ERROR_FAILED, "forward returned a wrong row count");
      logits.assign(rows.row(0), rows.row(0) + vocab);
      host().drop(dropped);

      if (step % kRefeedEvery == 0) {
        host().truncate(sequence, position);
        hearth_batch_token again{top.best, position, sequence, 1};
        auto row = host().forward(&again, 1);
        logits.assign(row.row(0), row.row(0) + vocab);
      }
      if (host().length(sequence) != position + 1) {
        throw Error(HEARTH_ERROR_FAILED, "sequence length does not follow the tokens fed");
      }
    }
    if (sequence != request.sequence) host().drop(sequence);
    host().log(HEARTH_LOG_DEBUG, "test_greedy: " + host().detokenize(hypothesis.tokens));
    return {hypothesis};
  }
};

}  // namespace

HEARTH_PLUGIN(TestGreedy, "test_greedy", "1.0",
              "greedy search through forks, batches and truncation")
