// The CPU backend's thread pool: chunks claimed by whichever threads run must still cover the
// range exactly once, on aligned bounds, with worker indices never shared at one time; helpers
// are parked only when they wait on a run queue for a large share of the time.
#include "cpu/thread_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

using hearth::cpu::HelperParking;
using hearth::cpu::ThreadPool;
using namespace std::chrono_literals;

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

TEST_CASE("helpers are parked after a window of run-queue waiting, and probed again", "[pool]") {
  HelperParking parking({.window = 100ms, .parked = 1s, .park_above = 0.3});
  CHECK_FALSE(parking.parked());
  CHECK(parking.due(0ns));
  parking.update(0ns, 0ns, 2);  // the first window starts
  CHECK_FALSE(parking.due(99ms));
  REQUIRE(parking.due(100ms));

  // Two helpers waited 25 ms of 200 helper-ms: 12.5%, an idle machine's noise.
  parking.update(100ms, 25ms, 2);
  CHECK_FALSE(parking.parked());

  // 80 ms of 200: 40%, a busy machine.
  parking.update(200ms, 105ms, 2);
  CHECK(parking.parked());
  CHECK_FALSE(parking.due(1199ms));
  REQUIRE(parking.due(1200ms));

  // The probe lets the helpers back in for one window; the load is still there.
  parking.update(1200ms, 105ms, 2);
  CHECK_FALSE(parking.parked());
  parking.update(1300ms, 225ms, 2);
  CHECK(parking.parked());

  // The next probe finds the load gone, and the helpers stay in.
  parking.update(2300ms, 225ms, 2);
  CHECK_FALSE(parking.parked());
  parking.update(2400ms, 226ms, 2);
  CHECK_FALSE(parking.parked());
  parking.update(2500ms, 227ms, 2);
  CHECK_FALSE(parking.parked());
}

TEST_CASE("a pool with parked helpers still runs every chunk, with the same bounds", "[pool]") {
  // Any delay at all counts as busy, and a parked spell outlasts the test: after the first
  // windows the caller runs everything itself.
  ThreadPool parked(3, {.window = 0ns, .parked = 24h, .park_above = -1.0});
  ThreadPool active(3, {.park_above = 1e9});
  const int64_t count = 4099, align = 16;
  auto bounds_of = [&](ThreadPool& pool) {
    std::vector<std::atomic<int>> visits(static_cast<size_t>(count));
    std::vector<std::atomic<int64_t>> chunk_end(static_cast<size_t>(count));
    pool.parallel_for(count, align, [&](int64_t begin, int64_t end) {
      chunk_end[static_cast<size_t>(begin)] = end;
      for (int64_t i = begin; i < end; ++i) visits[static_cast<size_t>(i)].fetch_add(1);
    });
    int wrong = 0;
    for (auto& v : visits) wrong += v.load() != 1;
    CHECK(wrong == 0);
    std::vector<int64_t> ends;
    for (auto& e : chunk_end) ends.push_back(e.load());
    return ends;
  };
  for (int region = 0; region < 1000; ++region) bounds_of(parked);
  REQUIRE(parked.helpers_parked());
  CHECK_FALSE(active.helpers_parked());
  CHECK(bounds_of(parked) == bounds_of(active));

  // Asleep, the helpers take no chunks: worker 0 runs them all.
  std::this_thread::sleep_for(100ms);
  std::atomic<int> by_helpers{0};
  for (int region = 0; region < 100; ++region) {
    parked.parallel_for_worker(count, align, [&](int worker, int64_t, int64_t) {
      if (worker != 0) ++by_helpers;
    });
  }
  CHECK(by_helpers.load() == 0);
}
