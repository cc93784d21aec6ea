// The CPU backend's thread pool: chunks claimed by whichever threads run must still cover the
// range exactly once, on aligned bounds, with worker indices never shared at one time.
#include "cpu/thread_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using hearth::cpu::ThreadPool;

TEST_CASE("every index runs exactly once, in aligned chunks, for any thread count", "[pool]") {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t count : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{1000}, int64_t{4099}}) {
      for (int64_t align : {int64_t{1}, int64_t{16}}) {
        std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
        std::atomic<bool> misaligned{false};
        pool.parallel_for(count, align, [&](int64_t begin, int64_t end) {
          if (begin % align != 0 || (end % align != 0 && end != count)) misaligned = true;
          for (int64_t i = begin; i < end; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
        });
        INFO("threads " << threads << " count " << count << " align " << align);
        CHECK_FALSE(misaligned.load());
        int wrong = 0;
        for (auto& v : visits) wrong += v.load() != 1;
        CHECK(wrong == 0);
      }
    }
  }
}

TEST_CASE("a worker index is never used by two chunks at once, also on a busy machine", "[pool]") {
  // A competing thread keeps a core busy, so helpers are descheduled mid-region and the
  // caller takes over their chunks.
  std::atomic<bool> stop{false};
  std::thread competitor([&] {
    volatile uint64_t x = 0;
    while (!stop.load(std::memory_order_relaxed)) x = x + 1;
  });
  ThreadPool pool(3);
  std::vector<std::atomic<int>> busy(3);
  std::atomic<int> overlaps{0}, out_of_range{0};
  int64_t total = 0;
  for (int region = 0; region < 5000; ++region) {
    std::atomic<int64_t> sum{0};
    pool.parallel_for_worker(257, 1, [&](int worker, int64_t begin, int64_t end) {
      if (worker < 0 || worker >= 3) {
        ++out_of_range;
        return;
      }
      if (busy[worker].exchange(1) != 0) ++overlaps;
      for (int64_t i = begin; i < end; ++i) sum += i;
      busy[worker].store(0);
    });
    total += sum.load();
  }
  stop = true;
  competitor.join();
  CHECK(out_of_range.load() == 0);
  CHECK(overlaps.load() == 0);
  CHECK(total == int64_t{5000} * (256 * 257 / 2));
}
