#include "hearth/request.h"

#include <utility>

#include "hearth/error.h"
#include "scheduler/request_shared.h"

namespace hearth {

const char* request_state_name(RequestState state) {
  switch (state) {
    case RequestState::queued:
      return "queued";
    case RequestState::running:
      return "running";
    case RequestState::finished:
      return "finished";
    case RequestState::cancelled:
      return "cancelled";
    case RequestState::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

bool is_done(RequestState state) {
  return state == RequestState::finished || state == RequestState::cancelled ||
         state == RequestState::failed;
}

GenerationResult result_of(const detail::RequestShared& shared) {
  if (shared.error) std::rethrow_exception(shared.error);
  return shared.result;
}

}  // namespace

Request::Request(std::shared_ptr<detail::RequestShared> shared) : shared_(std::move(shared)) {
  if (!shared_) throw Error("Request: no request");
}

uint64_t Request::id() const { return shared_->id; }

RequestState Request::state() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state;
}

bool Request::done() const { return is_done(state()); }

void Request::cancel() {
  if (done()) return;
  shared_->cancel_requested.store(true);
  if (auto signal = shared_->signal.lock()) signal->notify();
}

GenerationResult Request::wait() {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  shared_->done_changed.wait(lock, [&] { return is_done(shared_->state); });
  return result_of(*shared_);
}

std::optional<GenerationResult> Request::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  if (!shared_->done_changed.wait_for(lock, timeout, [&] { return is_done(shared_->state); })) {
    return std::nullopt;
  }
  return result_of(*shared_);
}

std::string Request::take_text() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return std::exchange(shared_->untaken_text, {});
}

std::vector<TokenLogprob> Request::take_logprobs() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return std::exchange(shared_->untaken_logprobs, {});
}

}  // namespace hearth
