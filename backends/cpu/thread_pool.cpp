#include "cpu/thread_pool.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "hearth/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HEARTH_CPU_RELAX() _mm_pause()
#else
#define HEARTH_CPU_RELAX() ((void)0)
#endif

namespace hearth::cpu {
namespace {
// About 50 µs of spinning on a modern core: longer than the gap between the kernels of one
// decode step, shorter than anything a user would notice as idle CPU burn.
constexpr int kSpinIterations = 20000;
constexpr int kBarrierSpinIterations = 2000;
// The parking verdict reads the clock only every this many regions (a few milliseconds of
// decode), so the check costs nothing beside the regions themselves.
constexpr uint32_t kDispatchesPerClockCheck = 64;

constexpr uint64_t pack(uint32_t generation, uint64_t next, uint64_t chunks) {
  return uint64_t{generation} << 32 | next << 16 | chunks;
}
constexpr uint32_t generation_of(uint64_t claim) { return static_cast<uint32_t>(claim >> 32); }
constexpr uint64_t next_of(uint64_t claim) { return claim >> 16 & 0xFFFF; }
constexpr uint64_t chunks_of(uint64_t claim) { return claim & 0xFFFF; }

// The second field of a schedstat file: nanoseconds this thread has waited on a run queue.
std::chrono::nanoseconds run_queue_delay(int fd) {
  char text[128];
  const ssize_t n = pread(fd, text, sizeof text, 0);
  if (n <= 0) return {};
  const char* const begin = text;
  const char* const end = text + n;
  const char* p = std::find(begin, end, ' ');
  uint64_t delay = 0;
  if (p != end) std::from_chars(p + 1, end, delay);
  return std::chrono::nanoseconds(delay);
}
}  // namespace

void HelperParking::update(std::chrono::nanoseconds now, std::chrono::nanoseconds waited,
                           int helpers) {
  if (measuring_) {
    const auto span = (now - window_start_) * helpers;
    if (span.count() > 0 && static_cast<double>((waited - waited_at_start_).count()) >
                                settings_.park_above * static_cast<double>(span.count())) {
      parked_ = true;
      measuring_ = false;
      next_ = now + settings_.parked;
      return;
    }
  }
  // A new measuring window: the first, the next one, or the probe after a parked spell.
  parked_ = false;
  measuring_ = true;
  window_start_ = now;
  waited_at_start_ = waited;
  next_ = now + settings_.window;
}

ThreadPool::ThreadPool(int threads, HelperParking::Settings parking)
    : threads_(std::max(1, threads)), parking_(parking), schedstat_fds_(threads_ - 1) {
  for (auto& fd : schedstat_fds_) fd.store(-1, std::memory_order_relaxed);
  workers_.reserve(threads_ - 1);
  for (int i = 1; i < threads_; ++i) {
    try {
      workers_.emplace_back([this, i] { worker_loop(i); });
    } catch (const std::exception& e) {
      // Out of memory for stacks, or a process/thread limit (std::system_error), or no memory
      // for the thread's state (std::bad_alloc): stop the workers that did start, since a
      // joinable std::thread destroyed unjoined would abort the process.
      stop_workers();
      const auto* system = dynamic_cast<const std::system_error*>(&e);
      throw Error("cpu: cannot start worker thread " + std::to_string(i + 1) + " of " +
                      std::to_string(threads_) + " (" +
                      (system ? system->code().message() : std::string(e.what())) +
                      "); use fewer threads (-t, [runtime] threads, HEARTH_THREADS)",
                  ErrorCode::failed);
    }
  }
}

ThreadPool::~ThreadPool() {
  stop_workers();
  for (auto& fd : schedstat_fds_) {
    if (fd.load() >= 0) close(fd.load());
  }
}

void ThreadPool::stop_workers() {
  stopping_.store(true);
  wake_.fetch_add(1);
  wake_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

std::chrono::nanoseconds ThreadPool::helpers_waited() const {
  std::chrono::nanoseconds total{0};
  for (const auto& fd : schedstat_fds_) {
    const int f = fd.load(std::memory_order_acquire);
    if (f >= 0) total += run_queue_delay(f);
  }
  return total;
}

void ThreadPool::update_parking() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  if (parking_.due(now)) parking_.update(now, helpers_waited(), threads_ - 1);
}

void ThreadPool::dispatch(Trampoline trampoline, void* fn, int64_t count, int64_t align,
                          int64_t chunks) {
  trampoline_ = trampoline;
  fn_ = fn;
  count_ = count;
  align_ = align;
  unfinished_.store(chunks, std::memory_order_relaxed);
  const uint32_t generation = generation_of(claim_.load(std::memory_order_relaxed)) + 1;
  claim_.store(pack(generation, 0, static_cast<uint64_t>(chunks)), std::memory_order_release);
  if (++dispatches_ % kDispatchesPerClockCheck == 0) update_parking();
  // Parked helpers are simply not woken; one still spinning from an earlier region may join
  // in, which only changes who runs a chunk.
  if (!parking_.parked()) {
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
  }

  run_chunks(generation, 0);
  for (int spin = 0; unfinished_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kBarrierSpinIterations) {
      HEARTH_CPU_RELAX();
      continue;
    }
    // A thread holding the last chunks is late (descheduled): sleep so it can have this core.
    caller_sleeping_.store(true);
    int64_t left = unfinished_.load();
    if (left != 0) unfinished_.wait(left);
    caller_sleeping_.store(false);
  }
}

void ThreadPool::run_chunks(uint32_t generation, int worker) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(claim) != generation || next_of(claim) >= chunks_of(claim)) return;
    if (!claim_.compare_exchange_weak(claim, claim + (uint64_t{1} << 16), std::memory_order_acquire,
                                      std::memory_order_acquire)) {
      continue;  // `claim` now holds the current word
    }
    // The job cannot end before this chunk does, so its fields are stable here.
    const auto chunk = static_cast<int64_t>(next_of(claim));
    const auto chunks = static_cast<int64_t>(chunks_of(claim));
    const int64_t units = (count_ + align_ - 1) / align_;
    const int64_t begin = units * chunk / chunks * align_;
    const int64_t end = std::min(count_, units * (chunk + 1) / chunks * align_);
    if (begin < end) trampoline_(fn_, worker, begin, end);
    // Sequentially consistent with the caller's "sleeping, then check": one of the two sees
    // the other, so the caller is never left asleep after the last chunk.
    if (unfinished_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
      unfinished_.notify_one();
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int index) {
  schedstat_fds_[index - 1].store(open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC),
                                  std::memory_order_release);
  uint64_t seen = 0;
  for (;;) {
    uint64_t current = wake_.load(std::memory_order_acquire);
    for (int spin = 0; current == seen && spin < kSpinIterations; ++spin) {
      HEARTH_CPU_RELAX();
      current = wake_.load(std::memory_order_acquire);
    }
    if (current == seen) {
      wake_.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = current;
    if (stopping_.load()) return;
    run_chunks(generation_of(claim_.load(std::memory_order_acquire)), index);
  }
}

int physical_core_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int allowed = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) allowed = CPU_COUNT(&set);
  // Count distinct (package, core) pairs so SMT siblings do not double the thread count.
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpu < 4096; ++cpu) {
    if (allowed > 0 && !CPU_ISSET(cpu, &set)) continue;
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core(base + "core_id"), package(base + "physical_package_id");
    std::string c, p;
    if (!(core >> c) || !(package >> p)) continue;
    cores.emplace(p, c);
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  return std::max(1, allowed > 0 ? allowed : static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace hearth::cpu
