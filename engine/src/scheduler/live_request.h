// One request as the scheduler drives it: prompt chunks, then search steps, with the stop
// rules, the streaming text and the statistics. Lives on the scheduler's thread only; what
// other threads see goes through its RequestShared.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hearth/batch.h"
#include "hearth/generation.h"
#include "hearth/request.h"
#include "scheduler/request_shared.h"
#include "scheduler/stop_string_filter.h"
#include "search/search_strategy.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

namespace plugins {
class PluginInstance;
}

using SchedulerClock = std::chrono::steady_clock;

class LiveRequest {
 public:
  LiveRequest(std::shared_ptr<detail::RequestShared> shared, std::vector<int32_t> prompt,
              GenerationOptions options, RequestCallbacks callbacks,
              plugins::PluginInstance* plugin, const Tokenizer& tokenizer);

  detail::RequestShared& shared() { return *shared_; }
  const GenerationOptions& options() const { return options_; }
  const std::vector<int32_t>& prompt() const { return prompt_; }
  plugins::PluginInstance* plugin() const { return plugin_; }
  uint64_t id() const { return shared_->id; }

  // Admission: the sequence that will hold it, and how far its KV reservation reaches.
  SequenceId sequence = -1;
  int32_t reserve_end = 0;  // positions the cache keeps room for (0 = nothing reserved)
  // Blocks a decoding plugin said the request's branches may hold beyond its prompt's (its
  // admit(), asked once; -1 until then), kept for the request until it ends.
  int64_t plugin_blocks = -1;
  SchedulerClock::time_point submitted, admitted;

  // Prompt feeding.
  size_t prompt_fed = 0;
  bool prefilling() const { return !strategy_ && !ended_; }

  // Decoding: the strategy and the rows it asked to be fed next.
  void start_decoding(std::unique_ptr<SearchStrategy> strategy);
  SearchStrategy& strategy() { return *strategy_; }
  bool has_strategy() const { return strategy_ != nullptr; }
  void release_strategy() { strategy_.reset(); }
  std::vector<BatchToken> rows;

  // Applies one strategy step's tokens and stop rules. `context` bounds positions; returns
  // true when the request has ended (finish() was called).
  bool apply(const SearchStep& step, int32_t context);
  // Ends the request normally (a stop rule): flushes held-back text, fills the statistics.
  void finish(StopReason reason);
  bool ended() const { return ended_; }

  // Publishes the outcome to the handle (and on_done), once: after finish() (a cancellation
  // is finish(StopReason::cancelled)), or instead of it with the error that failed it.
  void publish_finished();
  void publish_failed(std::exception_ptr error);
  void mark_running();

  GenerationResult& result() { return result_; }
  SchedulerClock::time_point first_logits;

 private:
  bool limit_reached() const;
  void keep_logprob(const TokenLogprob& logprob);  // in the result and for take_logprobs()
  // One generated token: streamed text; false when it ends the request (stop string, or the
  // text callback asked to stop).
  bool accept(int32_t token);
  void emit_text(const std::string& text);
  void publish(RequestState state, std::exception_ptr error);

  std::shared_ptr<detail::RequestShared> shared_;
  std::vector<int32_t> prompt_;
  GenerationOptions options_;
  RequestCallbacks callbacks_;
  plugins::PluginInstance* plugin_;
  const Tokenizer& tokenizer_;
  std::unique_ptr<SearchStrategy> strategy_;
  StreamDecoder decoder_;
  StopStringFilter filter_;
  GenerationResult result_;
  bool text_refused_ = false;  // on_text returned false
  bool ended_ = false;
};

}  // namespace hearth
