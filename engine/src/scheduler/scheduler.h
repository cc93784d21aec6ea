// The scheduler owns the forward pass. On its own thread, each step it
//  1. ends cancelled requests and frees their KV blocks,
//  2. admits queued requests, oldest first, while their KV reservation fits beside the live
//     ones (a request that can never fit fails at once, with the numbers),
//  3. gathers rows from every live request into one batch: decode rows and plugin rows first,
//     then prompt chunks within the per-step token budget, so a long prompt never stalls the
//     others' decoding,
//  4. runs one forward pass, and hands each request the logits of its rows.
// Requests join and leave between steps (continuous batching).
//
// KV admission: a sampling request reserves room for its prompt plus max_tokens (or the whole
// context when unbounded), so once admitted it never runs out of cache. A decoding plugin's
// rows are checked each step against what no reservation holds; they wait while other
// requests can still free blocks, and fail when nothing can.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "hearth/engine.h"
#include "hearth/request.h"
#include "scheduler/live_request.h"

namespace hearth {

class Scheduler {
 public:
  explicit Scheduler(detail::EngineState& engine);
  ~Scheduler();  // stops the thread; requests still live fail ("the engine is shutting down")
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request whose options and prompt the caller has already checked.
  Request submit(std::vector<int32_t> prompt, GenerationOptions options, RequestCallbacks callbacks,
                 plugins::PluginInstance* plugin);

  SchedulerStats stats() const;

  bool on_scheduler_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void loop();
  void step();
  void end_cancelled();
  void admit();
  // Admits `r` when its reservation fits now: true (admitted or failed), false (wait).
  bool try_admit(LiveRequest& r, int32_t reserved_blocks);
  // A decoding plugin's admit() for `r`: the blocks its branches may need beyond the prompt's.
  int64_t admission_blocks(LiveRequest& r);
  int32_t outstanding_blocks(const LiveRequest& r) const;
  int32_t outstanding_blocks() const;
  void gather();
  void distribute();
  void start_decoding(LiveRequest& r, std::span<const float> logits);
  void run_strategy(LiveRequest& r, std::span<const float> logits);
  // Checks a strategy's rows: its own sequences, continuing each one, tokens in the vocabulary.
  void check_rows(LiveRequest& r) const;
  // Frees what the request holds, emits its end event and publishes the outcome: the result,
  // or `error` when it failed.
  void end(LiveRequest& r, std::exception_ptr error = nullptr);
  void remove_ended();

  detail::EngineState& engine_;
  std::shared_ptr<SchedulerSignal> signal_;
  std::vector<std::unique_ptr<LiveRequest>> incoming_;  // guarded by signal_->mutex
  bool stopping_ = false;                               // guarded by signal_->mutex
  uint64_t next_id_ = 1;                                // guarded by signal_->mutex

  // The scheduler thread's own state.
  std::vector<std::unique_ptr<LiveRequest>> queued_, running_;
  struct Slice {
    LiveRequest* request;
    size_t first_row, rows;
    bool prefill;
  };
  std::vector<BatchToken> batch_;
  std::vector<Slice> slices_;
  std::vector<float> logits_;
  std::vector<std::pair<SequenceId, int32_t>> appends_;
  SchedulerStats stats_;  // guarded by signal_->mutex
  std::thread thread_;
};

}  // namespace hearth
