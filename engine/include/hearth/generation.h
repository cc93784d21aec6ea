// hearth: options and results of text generation with the built-in sampling strategy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hearth {

// Applied in this order: repetition penalty, top-k, top-p, min-p, temperature, then a draw.
// temperature 0 means greedy (argmax after the repetition penalty). Valid ranges: settings.h.
struct SamplingOptions {
  float temperature = 0.8f;
  int32_t top_k = 40;            // 0 = off
  float top_p = 0.95f;           // 1 = off
  float min_p = 0.05f;           // 0 = off
  float repeat_penalty = 1.0f;   // 1 = off
  int32_t repeat_last_n = 64;    // tokens the penalty looks back over
  std::optional<uint64_t> seed;  // none = random; the seed used is reported in the result
};

struct GenerationOptions {
  SamplingOptions sampling;
  int32_t max_tokens = 128;       // -1 = until end of generation or the context is full
  std::vector<std::string> stop;  // generation ends before the first occurrence of any
  bool add_bos = true;            // prepend BOS when the model's vocabulary wants it
  bool parse_special = false;     // treat special-token text in the prompt as tokens
  bool ignore_eos = false;
  // Search strategy: "" = the loaded decoding plugin if there is one, else sampling;
  // "sampling" = the built-in sampler chain; otherwise a decoding plugin's name.
  std::string strategy;
  // A decoding plugin's options for this request only ({"num_beams", "8"}); for the same key
  // they take the place of the plugin's [plugins.options]. The plugin checks them.
  std::vector<std::pair<std::string, std::string>> strategy_options;
  // Start from this knowledge prefix (see Engine::knowledge_build) instead of an empty
  // sequence; the prompt continues it without a BOS.
  std::string knowledge_prefix;
  // -1 = none. N >= 0: GenerationResult::logprobs gets each generated token's log-probability
  // with the N most likely tokens of its step (at most 20). The built-in sampling only.
  int32_t logprobs = -1;
};

// cancelled: Request::cancel(), or a text callback that returned false.
enum class StopReason { end_of_generation, stop_string, max_tokens, context_full, cancelled };

const char* stop_reason_name(StopReason reason);

struct GenerationStats {
  int32_t prompt_tokens = 0;
  int32_t generated_tokens = 0;
  double load_seconds = 0;
  double prompt_seconds = 0;    // prefill, including the first token's logits
  double generate_seconds = 0;  // decode of the remaining tokens
  double queue_seconds = 0;     // from submit() to admission (waiting for KV cache room)
  double prompt_tokens_per_second() const {
    return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0;
  }
  double generated_tokens_per_second() const {
    return generate_seconds > 0 && generated_tokens > 1 ? (generated_tokens - 1) / generate_seconds
                                                        : 0;
  }
};

// One of a decoding plugin's answers (a beam search's finished hypotheses, for instance).
struct Hypothesis {
  std::string text;
  std::vector<int32_t> tokens;  // generated tokens as the plugin returned them
  double score = 0;  // the plugin's score (beam search: length-penalised log-probability)
};

// A generated token's log-probability under the model: the log-softmax of its logits as the
// model gave them, before the sampling settings (penalty, temperature, cut-offs) reshaped
// them, so that it reads the same whatever the request's sampling.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // the most likely tokens, best first
};

struct GenerationResult {
  std::string text;
  std::vector<int32_t> tokens;  // generated tokens (prompt excluded)
  StopReason stop_reason = StopReason::max_tokens;
  uint64_t seed = 0;
  GenerationStats stats;
  // A decoding plugin's answers, best first; `text` and `tokens` follow the first of them
  // under the request's stop rules. Empty for sampling.
  std::vector<Hypothesis> hypotheses;
  // With GenerationOptions::logprobs >= 0: one per token of `tokens`, in order.
  std::vector<TokenLogprob> logprobs;
};

}  // namespace hearth
