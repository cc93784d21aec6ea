// Admission of generation requests: at most `running` at once, then at most `waiting` in
// arrival order, then refusal (the server answers 429). Thread-safe; starts run outside the
// lock, on the caller's thread (enter) or on the thread that freed a place (leave).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace hearth::server {

class Admission {
 public:
  // `start(true)` runs when the request may go; `start(false)` when it was dropped while
  // waiting (shutdown).
  using Start = std::function<void(bool admitted)>;

  Admission(int32_t running, int32_t waiting) : max_running_(running), max_waiting_(waiting) {}

  enum class Outcome { started, queued, full };
  Outcome enter(Start start);
  // A started request ended: the first waiting one (if any) starts.
  void leave();
  // Drops every waiting request (each start(false)).
  void drop_waiting();

  int32_t running() const;
  int32_t waiting() const;

 private:
  mutable std::mutex mutex_;
  int32_t max_running_, max_waiting_;
  int32_t running_ = 0;
  std::deque<Start> waiting_;
};

}  // namespace hearth::server
