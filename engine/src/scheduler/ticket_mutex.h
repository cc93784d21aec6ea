// A mutex that serves waiters in the order they arrived. The scheduler takes the engine lock
// for every step, back to back; with a plain mutex it can take it again before a waiting
// caller wakes (or a caller looping on Engine calls can starve the scheduler), so each side
// would wait for the other for as long as it keeps busy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace hearth {

class TicketMutex {
 public:
  void lock() {
    std::unique_lock<std::mutex> guard(mutex_);
    const uint64_t ticket = next_ticket_++;
    turn_.wait(guard, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      ++serving_;
    }
    turn_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_;
  uint64_t next_ticket_ = 0, serving_ = 0;
};

}  // namespace hearth
