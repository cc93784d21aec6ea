// A fixed pool of worker threads for data-parallel kernels. The calling thread works as
// worker 0, so a pool of N threads starts N-1 helpers and never oversubscribes the cores.
// Workers spin briefly before sleeping: decode issues hundreds of small parallel regions per
// token, and waking a sleeping thread costs more than the region itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace hearth::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  // Calls fn(thread_index, thread_count) on every thread and returns when all are done.
  // No allocation: the callable is passed by reference through a type-erased pointer.
  template <typename Fn>
  void run(Fn&& fn) {
    if (threads_ == 1) {
      fn(0, 1);
      return;
    }
    dispatch(&invoke<std::remove_reference_t<Fn>>, &fn);
  }

  // Splits [0, count) into per-thread ranges aligned to `align` and calls fn(begin, end).
  template <typename Fn>
  void parallel_for(int64_t count, int64_t align, Fn&& fn) {
    run([&](int index, int total) {
      int64_t chunks = (count + align - 1) / align;
      int64_t begin = chunks * index / total * align;
      int64_t end = std::min(count, chunks * (index + 1) / total * align);
      if (begin < end) fn(begin, end);
    });
  }

 private:
  using Trampoline = void (*)(void* fn, int index, int total);
  template <typename Fn>
  static void invoke(void* fn, int index, int total) {
    (*static_cast<Fn*>(fn))(index, total);
  }
  void dispatch(Trampoline trampoline, void* fn);
  void worker_loop(int index);
  void stop_workers();

  int threads_;
  std::vector<std::thread> workers_;
  Trampoline trampoline_ = nullptr;
  void* fn_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
};

// Number of physical cores available to this process (affinity mask aware).
int physical_core_count();

}  // namespace hearth::cpu
