#include "server/admission.h"

namespace hearth::server {

Admission::Outcome Admission::enter(Start start) {
  {
    std::lock_guard lock(mutex_);
    if (running_ >= max_running_) {
      if (static_cast<int32_t>(waiting_.size()) >= max_waiting_) return Outcome::full;
      waiting_.push_back(std::move(start));
      return Outcome::queued;
    }
    ++running_;
  }
  start(true);
  return Outcome::started;
}

void Admission::leave() {
  Start next;
  {
    std::lock_guard lock(mutex_);
    if (waiting_.empty()) {
      --running_;
      return;
    }
    next = std::move(waiting_.front());  // the freed place passes to it
    waiting_.pop_front();
  }
  next(true);
}

void Admission::drop_waiting() {
  std::deque<Start> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(waiting_);
  }
  for (Start& start : dropped) start(false);
}

int32_t Admission::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

int32_t Admission::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int32_t>(waiting_.size());
}

}  // namespace hearth::server
