#include "cpu/thread_pool.h"

#include <sched.h>

#include <algorithm>
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
}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
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
                  "); use fewer threads (-t, [runtime] threads, HEARTH_THREADS)");
    }
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  stopping_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void ThreadPool::dispatch(Trampoline trampoline, void* fn) {
  trampoline_ = trampoline;
  fn_ = fn;
  pending_.store(threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  trampoline(fn, 0, threads_);
  while (pending_.load(std::memory_order_acquire) != 0) HEARTH_CPU_RELAX();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t current = generation_.load(std::memory_order_acquire);
    for (int spin = 0; current == seen && spin < kSpinIterations; ++spin) {
      HEARTH_CPU_RELAX();
      current = generation_.load(std::memory_order_acquire);
    }
    if (current == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = current;
    if (stopping_.load()) return;
    trampoline_(fn_, index, threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
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
