#include "scheduler/live_request.h"

#include <utility>

namespace hearth {

LiveRequest::LiveRequest(std::shared_ptr<detail::RequestShared> shared, std::vector<int32_t> prompt,
                         GenerationOptions options, RequestCallbacks callbacks,
                         plugins::PluginInstance* plugin, const Tokenizer& tokenizer)
    : shared_(std::move(shared)),
      prompt_(std::move(prompt)),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      plugin_(plugin),
      tokenizer_(tokenizer),
      decoder_(tokenizer),
      filter_(options_.stop) {
  for (int32_t t : prompt_) decoder_.push(t);  // so the first generated piece keeps its space
  decoder_.flush();                            // a prompt's broken UTF-8 tail is not output
  result_.stats.prompt_tokens = static_cast<int32_t>(prompt_.size());
}

void LiveRequest::start_decoding(std::unique_ptr<SearchStrategy> strategy) {
  strategy_ = std::move(strategy);
}

bool LiveRequest::limit_reached() const {
  return options_.max_tokens >= 0 &&
         static_cast<int32_t>(result_.tokens.size()) >= options_.max_tokens;
}

void LiveRequest::emit_text(const std::string& text) {
  result_.text += text;
  if (text.empty()) return;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->untaken_text += text;
  }
  if (!text_refused_ && callbacks_.on_text && !callbacks_.on_text(text)) text_refused_ = true;
}

void LiveRequest::keep_logprob(const TokenLogprob& logprob) {
  result_.logprobs.push_back(logprob);
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->untaken_logprobs.push_back(logprob);
}

bool LiveRequest::accept(int32_t token) {
  result_.tokens.push_back(token);
  bool stopped = false;
  emit_text(filter_.push(decoder_.push(token), stopped));
  if (stopped) {
    finish(StopReason::stop_string);
    return false;
  }
  if (text_refused_) {
    finish(StopReason::cancelled);
    return false;
  }
  return true;
}

bool LiveRequest::apply(const SearchStep& step, int32_t context) {
  for (const SearchStep::Scored& scored : step.hypotheses) {
    result_.hypotheses.push_back(
        Hypothesis{tokenizer_.decode(scored.tokens), scored.tokens, scored.score});
  }
  for (size_t i = 0; i < step.tokens.size(); ++i) {
    const int32_t token = step.tokens[i];
    if (limit_reached()) {
      finish(StopReason::max_tokens);
      return true;
    }
    if (!options_.ignore_eos && tokenizer_.is_end_of_generation(token)) {
      finish(StopReason::end_of_generation);
      return true;
    }
    // Before accept(), whose text callback may be where a caller takes it.
    if (i < step.logprobs.size()) keep_logprob(step.logprobs[i]);
    if (!accept(token)) return true;
  }
  for (const BatchToken& row : step.rows) {
    if (row.position >= context) {
      finish(StopReason::context_full);
      return true;
    }
  }
  if (limit_reached()) {
    finish(StopReason::max_tokens);
    return true;
  }
  if (step.finished) {
    finish(StopReason::end_of_generation);
    return true;
  }
  rows = step.rows;
  return false;
}

void LiveRequest::finish(StopReason reason) {
  if (ended_) return;
  ended_ = true;
  rows.clear();
  result_.stop_reason = reason;
  if (reason != StopReason::stop_string) {
    bool stopped = false;
    std::string tail = filter_.push(decoder_.flush(), stopped);
    if (!stopped) tail += filter_.flush();
    if (reason == StopReason::cancelled) {
      result_.text += tail;  // kept in the result, not streamed after a stop
    } else {
      emit_text(tail);
    }
  }
  result_.stats.generated_tokens = static_cast<int32_t>(result_.tokens.size());
  auto now = SchedulerClock::now();
  if (first_logits != SchedulerClock::time_point{}) {
    result_.stats.generate_seconds = std::chrono::duration<double>(now - first_logits).count();
  }
}

void LiveRequest::mark_running() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->state = RequestState::running;
}

void LiveRequest::publish(RequestState state, std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->result = result_;
    shared_->error = std::move(error);
    shared_->state = state;
  }
  shared_->done_changed.notify_all();
  if (callbacks_.on_done) callbacks_.on_done(state);
}

void LiveRequest::publish_finished() {
  publish(result_.stop_reason == StopReason::cancelled ? RequestState::cancelled
                                                       : RequestState::finished,
          nullptr);
}

void LiveRequest::publish_failed(std::exception_ptr error) {
  ended_ = true;
  rows.clear();
  publish(RequestState::failed, std::move(error));
}

}  // namespace hearth
