// Requests: checked and queued here, driven by the scheduler (scheduler/scheduler.h).
// generate() is submit-and-wait on the same machinery.
#include "api/engine_impl.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "plugins/plugin_instance.h"
#include "scheduler/scheduler.h"

namespace hearth {
namespace {

// The decoding plugin a request uses, or null for the built-in sampler chain.
plugins::PluginInstance* choose_strategy(const detail::EngineState& impl,
                                         const std::string& strategy) {
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

Request Engine::submit(std::string_view prompt, const GenerationOptions& options,
                       RequestCallbacks callbacks) {
  bool add_bos =
      options.add_bos && impl_->text_tokenizer->wants_bos() && options.knowledge_prefix.empty();
  return submit_tokens(tokenize(prompt, add_bos, options.parse_special), options,
                       std::move(callbacks));
}

Request Engine::submit_tokens(std::vector<int32_t> prompt, const GenerationOptions& options,
                              RequestCallbacks callbacks) {
  settings::validate(options);
  const bool from_prefix = !options.knowledge_prefix.empty();
  if (prompt.empty()) {
    if (from_prefix) throw Error("a request on a knowledge prefix needs a prompt");
    if (bos_token() < 0) throw Error("empty prompt and the vocabulary has no BOS token");
    prompt.push_back(bos_token());
  }
  const int32_t context = impl_->context_size;
  if (static_cast<int64_t>(prompt.size()) >= context) {
    throw Error("prompt of " + std::to_string(prompt.size()) +
                " tokens does not fit the context size " + std::to_string(context));
  }
  for (int32_t token : prompt) {
    if (token < 0 || token >= impl_->config.vocab_size) {
      throw Error("prompt token " + std::to_string(token) + " is outside the vocabulary of " +
                  std::to_string(impl_->config.vocab_size));
    }
  }
  plugins::PluginInstance* strategy = choose_strategy(*impl_, options.strategy);
  if (!strategy && !options.strategy_options.empty()) {
    throw Error("strategy options ('" + options.strategy_options.front().first +
                "', ...) are for a decoding plugin, and this request samples");
  }
  if (strategy && options.logprobs >= 0) {
    throw Error(
        "logprobs are given by the built-in sampling, and this request uses decoding "
        "plugin '" +
        strategy->name() + "'");
  }
  return impl_->scheduler->submit(std::move(prompt), options, std::move(callbacks), strategy);
}

SchedulerStats Engine::scheduler_stats() const { return impl_->scheduler->stats(); }

namespace {

RequestCallbacks text_callbacks(const Engine::TextCallback& on_text) {
  RequestCallbacks callbacks;
  if (on_text) callbacks.on_text = on_text;
  return callbacks;
}

}  // namespace

GenerationResult Engine::generate(std::string_view prompt, const GenerationOptions& options,
                                  const TextCallback& on_text) {
  impl_->refuse_on_scheduler_thread("generate()");
  return submit(prompt, options, text_callbacks(on_text)).wait();
}

GenerationResult Engine::generate_tokens(std::vector<int32_t> prompt,
                                         const GenerationOptions& options,
                                         const TextCallback& on_text) {
  impl_->refuse_on_scheduler_thread("generate_tokens()");
  return submit_tokens(std::move(prompt), options, text_callbacks(on_text)).wait();
}

}  // namespace hearth
