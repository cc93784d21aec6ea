// Test fixture (decoding, step-wise): greedy search that goes through every sequence service
// on the way. Each step forks the sequence into two branches and has both fed in one pass (the best
// token on one, the runner-up on the other), keeps the first and drops the second; every few
// steps it truncates the kept branch by one token and has that token fed again. None of this may
// change the result: the tokens must equal plain greedy decoding.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::DecodeInput;
using hearth::sdk::DecodeOutput;
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

// One request: the steps of plain greedy decoding, each answered with the rows the next pass
// must feed (the two forked branches, or the refed token after a truncation).
class GreedySession : public hearth::sdk::DecodeSession {
 public:
  GreedySession(Host host, const DecodeRequest& request)
      : host_(host),
        model_(host.model()),
        original_(request.sequence),
        sequence_(request.sequence),
        max_tokens_(request.max_tokens) {}

  void step(const DecodeInput& input, DecodeOutput& output) override {
    const int32_t vocab = model_.vocab_size;
    if (input.logit_rows < 1 || !input.logits) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "a step without logits");
    }
    std::vector<float> logits(input.row(0), input.row(0) + vocab);
    if (awaiting_ == Awaiting::branches) {
      if (input.logit_rows != 2) throw Error(HEARTH_ERROR_FAILED, "expected two rows of logits");
      host_.drop(dropped_);
      dropped_ = -1;
      if (step_ % kRefeedEvery == 0) {
        host_.truncate(sequence_, position_);
        output.rows = {{best_, position_, sequence_, 1}};
        awaiting_ = Awaiting::refeed;
        return;
      }
    }
    if (awaiting_ != Awaiting::prompt && host_.length(sequence_) != position_ + 1) {
      throw Error(HEARTH_ERROR_FAILED, "sequence length does not follow the tokens fed");
    }
    ++step_;
    if (limit_reached()) {
      output.finished = true;
      return;
    }
    TopTwo top = top_two(logits.data(), vocab);
    if (top.best == model_.eos_token) {
      output.finished = true;
      return;
    }
    hypothesis_.tokens.push_back(top.best);
    hypothesis_.score += log_softmax(logits.data(), vocab, top.best);
    position_ = host_.length(sequence_);
    if (position_ >= model_.context_size || limit_reached()) {
      output.finished = true;
      return;
    }
    hearth_sequence_id kept = host_.fork(sequence_);
    dropped_ = host_.fork(sequence_);
    host_.drop(sequence_);
    sequence_ = kept;
    best_ = top.best;
    output.rows = {{top.best, position_, kept, 1}, {top.second, position_, dropped_, 1}};
    awaiting_ = Awaiting::branches;
  }

  std::vector<Hypothesis> result() override {
    if (sequence_ != original_) host_.drop(sequence_);
    host_.log(HEARTH_LOG_DEBUG, "test_greedy: " + host_.detokenize(hypothesis_.tokens));
    return {hypothesis_};
  }

 private:
  enum class Awaiting { prompt, branches, refeed };

  bool limit_reached() const {
    return max_tokens_ >= 0 && static_cast<int32_t>(hypothesis_.tokens.size()) >= max_tokens_;
  }

  Host host_;
  const hearth_model_desc& model_;
  hearth_sequence_id original_, sequence_;
  hearth_sequence_id dropped_ = -1;
  int32_t max_tokens_;
  Awaiting awaiting_ = Awaiting::prompt;
  int step_ = 0;
  int32_t position_ = 0, best_ = 0;
  Hypothesis hypothesis_;
};

class TestGreedy : public hearth::sdk::DecodingPlugin {
 public:
  TestGreedy(Host host, const Options& options)
      : DecodingPlugin(host, options), try_forward_(options.get_bool("try_forward", false)) {}

  std::unique_ptr<hearth::sdk::DecodeSession> begin(const DecodeRequest& request) override {
    if (!request.prompt_logits) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "no prompt logits");
    if (try_forward_) expect_forward_refused(request);
    return std::make_unique<GreedySession>(host(), request);
  }

 private:
  // try_forward = true: checks the host refuses a forward pass from inside a step-wise call.
  void expect_forward_refused(const DecodeRequest& request) const {
    const hearth_batch_token row{0, host().length(request.sequence), request.sequence, 1};
    try {
      host().forward(&row, 1);
    } catch (const Error& e) {
      if (e.status() == HEARTH_ERROR_UNSUPPORTED) return;
      throw;
    }
    throw Error(HEARTH_ERROR_FAILED, "the host ran a forward pass inside begin()");
  }

  bool try_forward_;
};

}  // namespace

HEARTH_PLUGIN(TestGreedy, "test_greedy", "1.0",
              "greedy search through forks, batches and truncation")
