// The built-in generation loop: prefill, then sample and decode one token at a time until
// end of generation, a stop string, the token limit or a full context.
#include <chrono>
#include <random>
#include <utility>

#include "api/engine_impl.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "plugins/abi_struct.h"
#include "plugins/plugin_instance.h"
#include "sampling/sampler.h"

namespace hearth {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Holds back text that might be the start of a stop string, so a stop string is never shown.
class StopStringFilter {
 public:
  explicit StopStringFilter(const std::vector<std::string>& stops) : stops_(stops) {}

  // Adds text; returns what is safe to emit. Sets `stopped` when a stop string appeared.
  std::string push(std::string_view text, bool& stopped) {
    pending_ += text;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      cut = std::min(cut, pending_.find(s));
    }
    if (cut != std::string::npos) {
      stopped = true;
      std::string out = pending_.substr(0, cut);
      pending_.clear();
      return out;
    }
    size_t hold = 0;
    for (const auto& s : stops_) {
      for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); n > hold; --n) {
        if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
          hold = n;
          break;
        }
      }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
  }
  std::string flush() { return std::exchange(pending_, {}); }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
};

}  // namespace

GenerationResult Engine::generate(std::string_view prompt, const GenerationOptions& options,
                                  const TextCallback& on_text) {
  bool add_bos =
      options.add_bos && impl_->tokenizer->wants_bos() && options.knowledge_prefix.empty();
  return generate_tokens(tokenize(prompt, add_bos, options.parse_special), options, on_text);
}

namespace {

// The decoding plugin a request uses, or null for the built-in sampler chain.
plugins::PluginInstance* choose_strategy(const Engine::Impl& impl, const std::string& strategy) {
  if (strategy == "sampling") return nullptr;
  for (const auto& plugin : impl.plugins) {
    if (plugin->kind() == HEARTH_PLUGIN_DECODING &&
        (strategy.empty() || plugin->name() == strategy)) {
      return plugin.get();
    }
  }
  if (!strategy.empty()) throw Error("no decoding plugin named '" + strategy + "' is loaded");
  return nullptr;
}

}  // namespace

GenerationResult Engine::generate_tokens(std::vector<int32_t> prompt,
                                         const GenerationOptions& options,
                                         const TextCallback& on_text) {
  settings::validate(options);
  const bool from_prefix = !options.knowledge_prefix.empty();
  if (prompt.empty()) {
    if (from_prefix) throw Error("a request on a knowledge prefix needs a prompt");
    if (bos_token() < 0) throw Error("empty prompt and the vocabulary has no BOS token");
    prompt.push_back(bos_token());
  }
  plugins::PluginInstance* strategy = choose_strategy(*impl_, options.strategy);
  GenerationResult result;
  result.seed = options.sampling.seed.value_or(std::random_device{}());
  result.stats.prompt_tokens = static_cast<int32_t>(prompt.size());
  result.stats.load_seconds = impl_->load_seconds;
  const int32_t context = impl_->info.context_size;

  Sampler sampler(options.sampling, result.seed);
  StreamDecoder decoder(*impl_->tokenizer);
  for (int32_t t : prompt) decoder.push(t);  // so the first generated piece keeps its space
  decoder.flush();                           // a prompt's broken UTF-8 tail is not output
  StopStringFilter filter(options.stop);
  std::vector<int32_t> history = prompt;

  SequenceId sequence =
      from_prefix ? knowledge_attach(options.knowledge_prefix) : create_sequence();
  struct DropOnExit {
    Engine& engine;
    SequenceId id;
    ~DropOnExit() {
      if (engine.impl_->cache->contains(id)) engine.drop_sequence(id);
    }
  } drop{*this, sequence};
  if (sequence_length(sequence) + static_cast<int32_t>(prompt.size()) >= context) {
    throw Error("prompt of " + std::to_string(prompt.size()) +
                " tokens does not fit the context size " + std::to_string(context));
  }

  const uint64_t request_id = impl_->next_request_id++;
  auto event = [&](hearth_event_type type) {
    hearth_event e = impl_->make_event(type, request_id);
    e.prompt_tokens = result.stats.prompt_tokens;
    e.generated_tokens = static_cast<int32_t>(result.tokens.size());
    return e;
  };
  impl_->emit(event(HEARTH_EVENT_REQUEST_START));
  auto emit = [&](const std::string& text) {
    result.text += text;
    return text.empty() || !on_text || on_text(text);
  };
  // One generated token: events, history, streamed text. False when generation must end.
  bool keep_going = true;
  auto accept = [&](int32_t token) {
    result.tokens.push_back(token);
    history.push_back(token);
    hearth_event e = event(HEARTH_EVENT_TOKEN);
    e.token = token;
    impl_->emit(e);
    bool stopped = false;
    keep_going = emit(filter.push(decoder.push(token), stopped));
    if (stopped) result.stop_reason = StopReason::stop_string;
    return !stopped && keep_going;
  };
  auto limit_reached = [&] {
    return options.max_tokens >= 0 &&
           static_cast<int32_t>(result.tokens.size()) >= options.max_tokens;
  };

  auto start = Clock::now();
  auto decode_start = start;
  try {
    std::vector<float> logits = prefill(sequence, prompt);
    result.stats.prompt_seconds = seconds_since(start);
    decode_start = Clock::now();
    impl_->emit(event(HEARTH_EVENT_PROMPT_DONE));

    if (strategy) {
      auto request = plugins::make_abi_struct<hearth_decode_request>();
      request.request_id = request_id;
      request.sequence = sequence;
      request.prompt = prompt.data();
      request.prompt_length = prompt.size();
      request.prompt_logits = logits.data();
      request.max_tokens = options.max_tokens;
      auto hypotheses = strategy->decode(request);
      result.stop_reason = StopReason::end_of_generation;
      if (!hypotheses.empty()) {
        // The request's limits hold whatever the plugin returned.
        for (int32_t token : hypotheses.front().tokens) {
          if (token < 0 || token >= impl_->config.vocab_size) {
            throw Error("plugin '" + strategy->name() + "' returned token " +
                        std::to_string(token) + " outside the vocabulary");
          }
          if (limit_reached() || (!options.ignore_eos && is_end_of_generation(token))) break;
          if (!accept(token)) break;
        }
        if (limit_reached() && result.stop_reason != StopReason::stop_string) {
          result.stop_reason = StopReason::max_tokens;
        }
      }
    } else {
      for (;;) {
        if (limit_reached()) {
          result.stop_reason = StopReason::max_tokens;
          break;
        }
        int32_t token = sampler.sample(logits, history);
        if (!options.ignore_eos && is_end_of_generation(token)) {
          result.stop_reason = StopReason::end_of_generation;
          break;
        }
        if (!accept(token)) break;
        if (sequence_length(sequence) >= context) {
          result.stop_reason = StopReason::context_full;
          break;
        }
        if (limit_reached()) {
          result.stop_reason = StopReason::max_tokens;
          break;
        }
        BatchToken next{token, sequence_length(sequence), sequence, true};
        decode({&next, 1}, logits);
      }
    }
  } catch (...) {
    hearth_event failed = event(HEARTH_EVENT_REQUEST_END);
    failed.status = HEARTH_ERROR_FAILED;
    impl_->emit(failed);
    throw;
  }
  if (result.stop_reason != StopReason::stop_string) {
    bool stopped = false;
    std::string tail = filter.push(decoder.flush(), stopped);
    if (!stopped) tail += filter.flush();
    if (keep_going) {
      emit(tail);
    } else {
      result.text += tail;
    }
  }
  result.stats.generated_tokens = static_cast<int32_t>(result.tokens.size());
  result.stats.generate_seconds = seconds_since(decode_start);
  impl_->emit(event(HEARTH_EVENT_REQUEST_END));
  return result;
}

}  // namespace hearth
