#include "scheduler/scheduler.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "api/engine_impl.h"
#include "hearth/error.h"
#include "plugins/abi_struct.h"
#include "plugins/plugin_instance.h"
#include "search/plugin_search.h"
#include "search/sampling_search.h"

namespace hearth {
namespace {

double seconds_between(SchedulerClock::time_point from, SchedulerClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string mib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1048576.0);
  return text;
}

}  // namespace

Scheduler::Scheduler(detail::EngineState& engine)
    : engine_(engine), signal_(std::make_shared<SchedulerSignal>()) {
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (const std::system_error& e) {
    throw Error(std::string("cannot start the scheduler thread: ") + e.what(), ErrorCode::failed);
  }
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(signal_->mutex);
    stopping_ = true;
  }
  signal_->wake.notify_one();
  thread_.join();
}

Request Scheduler::submit(std::vector<int32_t> prompt, GenerationOptions options,
                          RequestCallbacks callbacks, plugins::PluginInstance* plugin) {
  auto shared = std::make_shared<detail::RequestShared>();
  shared->signal = signal_;
  auto live = std::make_unique<LiveRequest>(shared, std::move(prompt), std::move(options),
                                            std::move(callbacks), plugin, *engine_.text_tokenizer);
  live->submitted = SchedulerClock::now();
  live->result().seed = live->options().sampling.seed.value_or(std::random_device{}());
  live->result().stats.load_seconds = engine_.load_seconds;
  {
    std::lock_guard<std::mutex> lock(signal_->mutex);
    if (stopping_) throw Error("the engine is shutting down", ErrorCode::failed);
    shared->id = next_id_++;
    incoming_.push_back(std::move(live));
    signal_->pending = true;
  }
  signal_->wake.notify_one();
  return Request(shared);
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(signal_->mutex);
  return stats_;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(signal_->mutex);
      signal_->wake.wait(lock, [&] {
        return stopping_ || signal_->pending || !queued_.empty() || !running_.empty();
      });
      signal_->pending = false;
      if (stopping_) break;
      for (auto& r : incoming_) queued_.push_back(std::move(r));
      incoming_.clear();
    }
    std::lock_guard<TicketMutex> engine_lock(engine_.mutex);
    step();
  }
  // Whatever is still live when the engine goes fails, so no caller waits forever.
  std::lock_guard<TicketMutex> engine_lock(engine_.mutex);
  {
    std::lock_guard<std::mutex> lock(signal_->mutex);
    for (auto& r : incoming_) queued_.push_back(std::move(r));
    incoming_.clear();
  }
  auto shutdown = std::make_exception_ptr(Error("the engine is shutting down", ErrorCode::failed));
  for (auto* list : {&running_, &queued_}) {
    for (auto& r : *list) {
      if (!r->ended()) end(*r, shutdown);
    }
    list->clear();
  }
}

void Scheduler::step() {
  end_cancelled();
  admit();
  gather();
  if (!batch_.empty()) {
    bool ran = false;
    try {
      engine_.forward_pass->run(batch_, logits_);
      ran = true;
    } catch (...) {
      // The pass checks its batch before changing anything, so only these requests are hurt.
      auto error = std::current_exception();
      for (const Slice& s : slices_) {
        if (!s.request->ended()) end(*s.request, error);
      }
    }
    if (ran) distribute();
  }
  remove_ended();
  std::lock_guard<std::mutex> lock(signal_->mutex);
  if (!batch_.empty()) {
    ++stats_.passes;
    stats_.rows += batch_.size();
    stats_.most_requests = std::max(stats_.most_requests, static_cast<int32_t>(slices_.size()));
  }
  stats_.running = static_cast<int32_t>(running_.size());
  stats_.queued = static_cast<int32_t>(queued_.size() + incoming_.size());
}

void Scheduler::end_cancelled() {
  for (auto* list : {&queued_, &running_}) {
    for (auto& r : *list) {
      if (!r->ended() && r->shared().cancel_requested.load()) {
        r->finish(StopReason::cancelled);
        end(*r);
      }
    }
  }
}

int32_t Scheduler::outstanding_blocks(const LiveRequest& r) const {
  if (r.ended() || r.sequence < 0 || !engine_.cache->contains(r.sequence)) return 0;
  const int32_t left = r.reserve_end - engine_.cache->length(r.sequence);
  // A plugin's branches keep their whole bound: what they already hold is counted twice
  // (used and reserved), which only makes later requests wait, never run out.
  const auto branches = static_cast<int32_t>(std::max<int64_t>(0, r.plugin_blocks));
  return (left > 0 ? engine_.cache->blocks_needed(r.sequence, left) : 0) + branches;
}

int32_t Scheduler::outstanding_blocks() const {
  int32_t total = 0;
  for (const auto& r : running_) total += outstanding_blocks(*r);
  return total;
}

void Scheduler::admit() {
  int32_t reserved = outstanding_blocks();
  for (auto& r : queued_) {
    if (r->ended()) continue;
    if (!try_admit(*r, reserved)) break;  // oldest first: later ones wait behind it
    if (!r->ended()) {
      reserved += outstanding_blocks(*r);
      running_.push_back(std::move(r));
    }
  }
  std::erase_if(queued_, [](const auto& r) { return !r; });
}

bool Scheduler::try_admit(LiveRequest& r, int32_t reserved_blocks) {
  KvCache& cache = *engine_.cache;
  const int32_t context = engine_.context_size;
  const std::string& prefix = r.options().knowledge_prefix;
  SequenceId sequence = -1;
  try {
    sequence = prefix.empty()
                   ? cache.create()
                   : engine_.find_plugin(HEARTH_PLUGIN_KNOWLEDGE, "").knowledge_attach(prefix);
  } catch (...) {
    end(r, std::current_exception());
    return true;
  }
  const int32_t start = cache.length(sequence);
  const auto prompt = static_cast<int32_t>(r.prompt().size());
  auto refuse = [&](const std::string& message, ErrorCode code) {
    if (cache.contains(sequence)) cache.drop(sequence);
    end(r, std::make_exception_ptr(Error(message, code)));
    return true;
  };
  if (int64_t{start} + prompt >= context) {
    return refuse((start > 0 ? "knowledge prefix '" + prefix + "' of " + std::to_string(start) +
                                   " tokens and a prompt of "
                             : std::string("prompt of ")) +
                      std::to_string(prompt) + " tokens " + (start > 0 ? "do" : "does") +
                      " not fit the context size " + std::to_string(context),
                  ErrorCode::invalid_argument);
  }
  const int32_t max_tokens = r.options().max_tokens;
  const int32_t end =
      r.plugin() ? start + prompt
      : max_tokens < 0
          ? context
          : static_cast<int32_t>(std::min<int64_t>(context, int64_t{start} + prompt + max_tokens));
  if (r.plugin() && r.plugin_blocks < 0) {
    try {
      r.plugin_blocks = admission_blocks(r);
    } catch (...) {
      if (cache.contains(sequence)) cache.drop(sequence);
      this->end(r, std::current_exception());
      return true;
    }
  }
  const int64_t branches = std::max<int64_t>(0, r.plugin_blocks);
  const int64_t need64 = int64_t{cache.blocks_needed(sequence, end - start)} + branches;
  const auto need = static_cast<int32_t>(std::min<int64_t>(need64, INT32_MAX));
  const int32_t available = cache.free_blocks() - reserved_blocks;
  if (need <= available) {
    r.sequence = sequence;
    r.reserve_end = end;
    r.admitted = SchedulerClock::now();
    r.result().stats.queue_seconds = seconds_between(r.submitted, r.admitted);
    r.mark_running();
    hearth_event e = engine_.make_event(HEARTH_EVENT_REQUEST_START, r.id());
    e.prompt_tokens = prompt;
    e.generated_tokens = 0;
    engine_.emit(e);
    return true;
  }
  if (need <= cache.total_blocks() && !running_.empty()) {
    cache.drop(sequence);  // waits: a running request will free blocks
    return false;
  }
  const size_t block_bytes = cache.geometry().block_bytes;
  const std::string wanted =
      "KV cache out of memory: this request needs " + std::to_string(need) + " KV cache blocks (" +
      mib(size_t(need) * block_bytes) + " for " + std::to_string(end - start) +
      " positions: " + std::to_string(prompt) + " prompt tokens" +
      (r.plugin() ? (branches > 0 ? "; " + std::to_string(branches) +
                                        " more for the decoding plugin's branches"
                                  : std::string())
                  : " + " + (max_tokens < 0 ? "the rest of the context"
                                            : std::to_string(max_tokens) + " new tokens")) +
      ")";
  if (need > cache.total_blocks()) {
    return refuse(wanted + " but the whole cache holds " + std::to_string(cache.total_blocks()) +
                      " (" + mib(size_t(cache.total_blocks()) * block_bytes) +
                      "); raise [runtime] kv_cache_mib or lower max_tokens",
                  ErrorCode::out_of_memory);
  }
  return refuse(wanted + " but only " + std::to_string(cache.free_blocks()) +
                    " are free and no running request will free more (the rest hold "
                    "sequences made outside requests, such as knowledge prefixes)",
                ErrorCode::out_of_memory);
}

void Scheduler::gather() {
  KvCache& cache = *engine_.cache;
  batch_.clear();
  slices_.clear();
  int64_t budget = engine_.options.max_batch_tokens;
  int32_t unreserved = cache.free_blocks() - outstanding_blocks();
  int32_t free_left = cache.free_blocks();  // what this pass's plugin rows have not taken
  LiveRequest* waiting_plugin = nullptr;
  for (auto& r : running_) {
    if (r->ended() || r->rows.empty()) continue;
    const auto n = static_cast<int64_t>(r->rows.size());
    if (n > budget) continue;
    if (r->plugin()) {
      // A plugin's forks grow the cache beyond any reservation: check what its rows take.
      appends_.clear();
      for (const BatchToken& row : r->rows) {
        auto it = std::find_if(appends_.begin(), appends_.end(),
                               [&](const auto& a) { return a.first == row.sequence; });
        if (it == appends_.end()) {
          appends_.emplace_back(row.sequence, 1);
        } else {
          ++it->second;
        }
      }
      // Blocks kept for its branches since admission are its own to take.
      const auto kept = static_cast<int32_t>(std::max<int64_t>(0, r->plugin_blocks));
      const int32_t need = cache.blocks_needed(appends_);
      if (need > std::min(free_left, unreserved + kept)) {
        waiting_plugin = r.get();
        continue;
      }
      unreserved -= std::max(0, need - kept);
      free_left -= need;
    }
    slices_.push_back({r.get(), batch_.size(), static_cast<size_t>(n), false});
    batch_.insert(batch_.end(), r->rows.begin(), r->rows.end());
    budget -= n;
  }
  for (auto& r : running_) {
    if (budget <= 0) break;
    if (r->ended() || !r->prefilling()) continue;
    const size_t total = r->prompt().size();
    const size_t n = std::min<size_t>(static_cast<size_t>(budget), total - r->prompt_fed);
    int32_t position = cache.length(r->sequence);
    slices_.push_back({r.get(), batch_.size(), n, true});
    for (size_t i = r->prompt_fed; i < r->prompt_fed + n; ++i) {
      batch_.push_back({r->prompt()[i], position++, r->sequence, i + 1 == total});
    }
    budget -= static_cast<int64_t>(n);
  }
  if (batch_.empty() && waiting_plugin) {
    // Nothing else runs, so nothing will free blocks: waiting would never end.
    end(*waiting_plugin,
        std::make_exception_ptr(
            Error("decoding plugin '" + waiting_plugin->plugin()->name() +
                      "': KV cache out of memory: its next rows need more blocks than are free (" +
                      std::to_string(cache.free_blocks()) + " free); raise [runtime] kv_cache_mib",
                  ErrorCode::out_of_memory)));
  }
}

int64_t Scheduler::admission_blocks(LiveRequest& r) {
  auto request = plugins::make_abi_struct<hearth_decode_request>();
  request.request_id = r.id();
  request.sequence = -1;  // nothing is in the cache yet
  request.prompt = r.prompt().data();
  request.prompt_length = r.prompt().size();
  request.max_tokens = r.options().max_tokens;
  std::vector<hearth_kv> options;
  for (const auto& [key, value] : r.options().strategy_options) {
    options.push_back({key.c_str(), value.c_str()});
  }
  request.options = options.data();
  request.option_count = options.size();
  return r.plugin()->decode_admit(request);
}

void Scheduler::distribute() {
  const size_t vocab = static_cast<size_t>(engine_.config.vocab_size);
  size_t logit_row = 0;
  for (const Slice& s : slices_) {
    size_t wanted = 0;
    for (size_t i = s.first_row; i < s.first_row + s.rows; ++i) wanted += batch_[i].wants_logits;
    std::span<const float> logits(logits_.data() + logit_row * vocab, wanted * vocab);
    logit_row += wanted;
    LiveRequest& r = *s.request;
    if (r.ended()) continue;
    if (s.prefill) {
      r.prompt_fed += s.rows;
      if (r.prompt_fed == r.prompt().size()) start_decoding(r, logits);
    } else {
      run_strategy(r, logits);
    }
  }
}

void Scheduler::start_decoding(LiveRequest& r, std::span<const float> logits) {
  r.first_logits = SchedulerClock::now();
  r.result().stats.prompt_seconds = seconds_between(r.admitted, r.first_logits);
  hearth_event e = engine_.make_event(HEARTH_EVENT_PROMPT_DONE, r.id());
  e.prompt_tokens = static_cast<int32_t>(r.prompt().size());
  e.generated_tokens = 0;
  engine_.emit(e);
  const int32_t vocab = engine_.config.vocab_size;
  const int32_t next_position = engine_.cache->length(r.sequence);
  if (r.plugin()) {
    r.start_decoding(std::make_unique<PluginSearch>(*r.plugin(), r.id(), r.sequence, r.prompt(),
                                                    r.options().max_tokens, vocab,
                                                    r.options().strategy_options));
  } else {
    r.start_decoding(std::make_unique<SamplingSearch>(r.options().sampling, r.result().seed,
                                                      r.sequence, next_position, r.prompt(), vocab,
                                                      r.options().logprobs));
  }
  run_strategy(r, logits);
}

void Scheduler::run_strategy(LiveRequest& r, std::span<const float> logits) {
  SearchStep out;
  const size_t before = r.result().tokens.size();
  try {
    r.strategy().step(logits, out);
  } catch (...) {
    end(r, std::current_exception());
    return;
  }
  const bool ended = r.apply(out, engine_.context_size);
  const auto& tokens = r.result().tokens;
  for (size_t i = before; i < tokens.size(); ++i) {
    hearth_event e = engine_.make_event(HEARTH_EVENT_TOKEN, r.id());
    e.prompt_tokens = static_cast<int32_t>(r.prompt().size());
    e.generated_tokens = static_cast<int32_t>(i + 1);
    e.token = tokens[i];
    engine_.emit(e);
  }
  if (ended) {
    end(r);
    return;
  }
  try {
    check_rows(r);
  } catch (...) {
    end(r, std::current_exception());
  }
}

void Scheduler::check_rows(LiveRequest& r) const {
  const KvCache& cache = *engine_.cache;
  auto extra = r.strategy().extra_sequences();
  const std::string who =
      r.plugin() ? "decoding plugin '" + r.plugin()->name() + "'" : std::string("sampling");
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const BatchToken& row = r.rows[i];
    const bool owned = row.sequence == r.sequence ||
                       std::find(extra.begin(), extra.end(), row.sequence) != extra.end();
    if (!owned || !cache.contains(row.sequence)) {
      throw Error(who + ": row " + std::to_string(i) + " names sequence " +
                      std::to_string(row.sequence) + ", which is not one of this request's",
                  ErrorCode::failed);
    }
    if (row.token < 0 || row.token >= engine_.config.vocab_size) {
      throw Error(who + ": row " + std::to_string(i) + " has token " + std::to_string(row.token) +
                      " outside the vocabulary",
                  ErrorCode::failed);
    }
    int32_t expected = cache.length(row.sequence);
    for (size_t j = 0; j < i; ++j) expected += r.rows[j].sequence == row.sequence;
    if (row.position != expected) {
      throw Error(who + ": row " + std::to_string(i) + " of sequence " +
                      std::to_string(row.sequence) + " has position " +
                      std::to_string(row.position) + ", expected " + std::to_string(expected),
                  ErrorCode::failed);
    }
  }
}

void Scheduler::end(LiveRequest& r, std::exception_ptr error) {
  KvCache& cache = *engine_.cache;
  if (r.has_strategy()) {
    auto* plugin_search = dynamic_cast<PluginSearch*>(&r.strategy());
    int32_t left_behind = 0;
    for (SequenceId s : r.strategy().extra_sequences()) {
      if (s == r.sequence || !cache.contains(s)) continue;
      cache.drop(s);
      ++left_behind;
    }
    if (plugin_search && plugin_search->completed() && !error) {
      r.plugin()->note_leaked_sequences(left_behind);
    }
    r.release_strategy();  // a plugin's per-request state ends here
  }
  if (r.sequence >= 0 && cache.contains(r.sequence)) cache.drop(r.sequence);
  r.sequence = -1;
  if (r.admitted != SchedulerClock::time_point{}) {  // only admitted requests had a start event
    hearth_event e = engine_.make_event(HEARTH_EVENT_REQUEST_END, r.id());
    e.prompt_tokens = static_cast<int32_t>(r.prompt().size());
    e.generated_tokens = static_cast<int32_t>(r.result().tokens.size());
    if (error) e.status = HEARTH_ERROR_FAILED;
    engine_.emit(e);
  }
  {
    std::lock_guard<std::mutex> lock(signal_->mutex);
    ++stats_.requests_ended;  // before publishing, so a waiter sees it counted
  }
  if (error) {
    r.publish_failed(std::move(error));
  } else {
    r.publish_finished();
  }
}

void Scheduler::remove_ended() {
  std::erase_if(running_, [](const auto& r) { return r->ended(); });
  std::erase_if(queued_, [](const auto& r) { return r && r->ended(); });
}

}  // namespace hearth
