// hearth: a generation request in flight. Engine::submit() queues one and returns this handle
// at once; the engine's scheduler thread admits it when its KV cache reservation fits, feeds
// its prompt in chunks beside every other live request, and decodes it until a stop rule ends
// it. The handle can be polled, streamed, cancelled and awaited.
//
// Threading: every member of Request may be called from any thread, concurrently. Callbacks in
// RequestCallbacks run on the scheduler thread, between forward passes: they should be quick
// (a slow callback delays every request), may call Request members and Engine's tokenizer
// functions, and must not call Engine functions that touch sequences or run passes (those
// throw when called from the scheduler thread) nor wait on any request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/generation.h"

namespace hearth {

enum class RequestState {
  queued,     // waiting for admission (its KV reservation does not fit yet)
  running,    // admitted: prefilling or decoding
  finished,   // ended by a stop rule; the result is complete
  cancelled,  // ended by cancel() or by on_text returning false; the result holds what was made
  failed,     // ended by an error; wait() throws it
};

const char* request_state_name(RequestState state);

struct RequestCallbacks {
  // Text as it becomes final (stop strings are never passed). Returning false cancels.
  std::function<bool(std::string_view)> on_text;
  // Called once when the request reaches finished, cancelled or failed.
  std::function<void(RequestState)> on_done;
};

// What the scheduler has done since the engine loaded, and what it holds now.
struct SchedulerStats {
  uint64_t passes = 0;          // forward passes run
  uint64_t rows = 0;            // batch rows fed, over all passes
  int32_t most_requests = 0;    // the most requests that shared one pass
  uint64_t requests_ended = 0;  // finished, cancelled or failed
  int32_t running = 0, queued = 0;
};

namespace detail {
struct RequestShared;
}

class Request {
 public:
  explicit Request(std::shared_ptr<detail::RequestShared> shared);

  uint64_t id() const;  // the request_id of its metrics events
  RequestState state() const;
  bool done() const;  // finished, cancelled or failed

  // Ends the request at the next step boundary and frees its KV blocks; a queued request never
  // starts. Cancelling a request that is done does nothing.
  void cancel();

  // Blocks until the request is done. Returns the result (stop_reason cancelled when it was
  // cancelled); throws the hearth::Error that failed it.
  GenerationResult wait();
  // As wait(), giving up after `timeout` (nullopt when the request is still going).
  std::optional<GenerationResult> wait_for(std::chrono::milliseconds timeout);

  // Text produced since the previous call, for callers that poll instead of using on_text.
  std::string take_text();
  // With GenerationOptions::logprobs: those of the tokens generated since the previous call.
  // A token's comes no later than the first on_text call after it, which may be before its
  // text (held back while it may be part of a stop string or of a character).
  std::vector<TokenLogprob> take_logprobs();

 private:
  std::shared_ptr<detail::RequestShared> shared_;
};

}  // namespace hearth
