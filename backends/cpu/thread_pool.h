// A fixed pool of worker threads for data-parallel kernels. The calling thread works as
// worker 0, so a pool of N threads starts N-1 helpers and never oversubscribes the cores.
//
// Work is cut into more chunks than there are threads, and whichever threads are running
// claim them one at a time. On a busy machine a helper may be descheduled for a whole time
// slice; a static split would make every parallel region wait for it, hundreds of times per
// token. Here the caller simply takes the chunks the absent helper would have done, and only a
// chunk already claimed can hold a region back. Waits spin briefly (decode issues hundreds of
// small regions per token, and waking a sleeping thread costs more than a region) and then
// sleep, so a waiting thread gives its core to the one that is late.
//
// When other processes keep the cores busy, even that loses: every region still pays for
// handing work to a helper that is waiting for a core, and the helper's spinning takes time
// from the caller. The kernel counts how long each helper waits on a run queue; when that is a
// large share of the time, the helpers are parked (they sleep, and the caller runs every
// chunk), and after a while they are let back in for a short probe to see if the load is gone.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace hearth::cpu {

// Decides from the helpers' run-queue delay whether they should take part. Separate from the
// pool so its transitions can be tested with made-up clocks.
class HelperParking {
 public:
  struct Settings {
    // How long the helpers' delay is measured before a verdict: long enough to span many
    // scheduler time slices, short enough to react to a load within a few tokens.
    std::chrono::nanoseconds window = std::chrono::milliseconds(100);
    // How long helpers stay parked before a probe window lets them back in.
    std::chrono::nanoseconds parked = std::chrono::seconds(1);
    // The share of a window that helpers, on average, spent runnable but not running above
    // which they are parked. On an idle machine it stays within a few percent, with rare
    // windows up to 15% (steal time on a virtual machine is not counted); one busy process
    // beside two threads on two cores puts it at 55-75%.
    double park_above = 0.3;
  };

  explicit HelperParking(Settings settings) : settings_(settings) {}

  bool parked() const { return parked_; }
  bool due(std::chrono::nanoseconds now) const { return now >= next_; }
  // now: a monotonic clock; waited: the run-queue delay of all `helpers` so far, summed.
  void update(std::chrono::nanoseconds now, std::chrono::nanoseconds waited, int helpers);

 private:
  Settings settings_;
  bool parked_ = false, measuring_ = false;
  std::chrono::nanoseconds next_{0}, window_start_{0}, waited_at_start_{0};
};

class ThreadPool {
 public:
  // throws hearth::Error when a thread cannot start
  explicit ThreadPool(int threads, HelperParking::Settings parking = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  // Whether the caller currently runs every chunk itself because the machine is busy.
  bool helpers_parked() const { return parking_.parked(); }

  // Calls fn(begin, end) over [0, count) in chunks whose bounds are multiples of `align`
  // (except the end), in parallel, and returns when all are done. The chunks depend only on
  // count, align and size(), so results never depend on which thread ran what.
  template <typename Fn>
  void parallel_for(int64_t count, int64_t align, Fn&& fn) {
    parallel_for_worker(count, align, [&](int, int64_t begin, int64_t end) { fn(begin, end); });
  }

  // As parallel_for, with fn(worker, begin, end): `worker` in [0, size()) names the thread
  // running the chunk, so per-thread scratch indexed by it is never shared at one time.
  // No allocation: the callable is passed by reference through a type-erased pointer.
  template <typename Fn>
  void parallel_for_worker(int64_t count, int64_t align, Fn&& fn) {
    if (count <= 0) return;
    const int64_t units = (count + align - 1) / align;
    if (threads_ == 1 || units == 1) {
      fn(0, 0, count);
      return;
    }
    dispatch(&invoke<std::remove_reference_t<Fn>>, &fn, count, align,
             std::min({units, int64_t{threads_} * kChunksPerThread, kMaxChunks}));
  }

 private:
  // Enough chunks that a late thread holds back little, few enough that claiming is free.
  static constexpr int64_t kChunksPerThread = 8;
  static constexpr int64_t kMaxChunks = 0xFFFF;  // chunk indices live in 16 bits of claim_

  using Trampoline = void (*)(void* fn, int worker, int64_t begin, int64_t end);
  template <typename Fn>
  static void invoke(void* fn, int worker, int64_t begin, int64_t end) {
    (*static_cast<Fn*>(fn))(worker, begin, end);
  }
  void dispatch(Trampoline trampoline, void* fn, int64_t count, int64_t align, int64_t chunks);
  // Claims and runs chunks of the job published with `generation` until none is left.
  void run_chunks(uint32_t generation, int worker);
  void worker_loop(int index);
  void stop_workers();
  void update_parking();
  std::chrono::nanoseconds helpers_waited() const;

  int threads_;
  std::vector<std::thread> workers_;

  // The job: written by the caller before the claim word announces it, read by a thread only
  // after it has claimed a chunk, and stable until every claimed chunk is finished.
  Trampoline trampoline_ = nullptr;
  void* fn_ = nullptr;
  int64_t count_ = 0, align_ = 1;

  // generation (32 bits) | next chunk (16 bits) | chunks (16 bits): one compare-and-swap claims
  // a chunk of exactly the job it saw, never one of the next job.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> unfinished_{0};  // chunks not yet finished
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<uint64_t> wake_{0};  // bumped to wake sleeping helpers
  std::atomic<bool> stopping_{false};

  // Caller-only state for parking; each helper opens its own /proc schedstat file (-1 until
  // then, or where the kernel has none, which leaves the helpers always in).
  HelperParking parking_;
  uint32_t dispatches_ = 0;
  std::vector<std::atomic<int>> schedstat_fds_;
};

// Number of physical cores available to this process (affinity mask aware).
int physical_core_count();

}  // namespace hearth::cpu
