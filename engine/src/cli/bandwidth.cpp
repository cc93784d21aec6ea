#include "cli/bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "hearth/error.h"

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define HEARTH_READ_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HEARTH_READ_CLONES
#endif

namespace hearth::cli {
namespace {

// Eight independent sums keep several loads in flight; the result is returned so the reads
// cannot be optimised away.
HEARTH_READ_CLONES uint64_t read_all(const uint64_t* data, size_t count) {
  uint64_t lanes[8] = {};
  for (size_t i = 0; i + 8 <= count; i += 8) {
    for (int j = 0; j < 8; ++j) lanes[j] ^= data[i + j];
  }
  uint64_t x = 0;
  for (uint64_t lane : lanes) x ^= lane;
  return x;
}

}  // namespace

double measure_read_bandwidth(int threads, size_t bytes, int repetitions) {
  threads = std::max(1, threads);
  const size_t count = bytes / sizeof(uint64_t) / (8 * threads) * (8 * threads);
  auto* data = static_cast<uint64_t*>(std::aligned_alloc(2 << 20, count * sizeof(uint64_t)));
  if (!data) {
    throw Error("bandwidth probe: cannot allocate " + std::to_string(bytes) + " bytes",
                ErrorCode::out_of_memory);
  }
  ::madvise(data, count * sizeof(uint64_t), MADV_HUGEPAGE);
  std::vector<uint64_t> sink(threads);
  // Touch every page from the thread that will read it.
  auto run = [&](bool fill) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        size_t begin = count / threads * t, end = count / threads * (t + 1);
        if (fill) {
          for (size_t i = begin; i < end; ++i) data[i] = i * 0x9E3779B97F4A7C15ull;
        } else {
          sink[t] ^= read_all(data + begin, end - begin);
        }
      });
    }
    for (auto& th : pool) th.join();
  };
  run(true);
  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    auto start = std::chrono::steady_clock::now();
    run(false);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, count * sizeof(uint64_t) / seconds);
  }
  std::free(data);
  volatile uint64_t keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace hearth::cli
