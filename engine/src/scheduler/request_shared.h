// What a Request handle and the scheduler share: the request's state, its result once done,
// text not yet taken by a poller, and the cancel flag. Guarded by `mutex`, except the flag.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "hearth/generation.h"
#include "hearth/request.h"

namespace hearth {

// How a Request reaches the scheduler's thread without keeping the engine alive: the handle
// holds this weakly, so cancelling after the engine is gone does nothing.
struct SchedulerSignal {
  std::mutex mutex;
  std::condition_variable wake;
  bool pending = false;

  void notify() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      pending = true;
    }
    wake.notify_one();
  }
};

namespace detail {

struct RequestShared {
  uint64_t id = 0;
  std::atomic<bool> cancel_requested{false};
  std::weak_ptr<SchedulerSignal> signal;

  mutable std::mutex mutex;
  std::condition_variable done_changed;
  RequestState state = RequestState::queued;
  GenerationResult result;                     // complete once the state is finished or cancelled
  std::exception_ptr error;                    // set when failed
  std::string untaken_text;                    // for take_text()
  std::vector<TokenLogprob> untaken_logprobs;  // for take_logprobs()
};

}  // namespace detail
}  // namespace hearth
