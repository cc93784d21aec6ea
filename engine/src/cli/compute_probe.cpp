#include "cli/compute_probe.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace hearth::cli {
namespace {

constexpr long kIterations = 20'000'000;
constexpr int kChains = 12;  // enough independent accumulators to cover the FMA latency

// Each function returns the flops it did and stores its result so the loop stays. Written
// with intrinsics: ISO C++ mode does not contract a * b + c into one instruction.
__attribute__((target("avx512f"))) long chains_avx512(float* sink) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < kIterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  *sink = _mm512_reduce_add_ps(acc[0]);
  return 2L * kIterations * kChains * 16;
}

__attribute__((target("avx2,fma"))) long chains_avx2(float* sink) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (long n = 0; n < kIterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  *sink = lanes[0];
  return 2L * kIterations * kChains * 8;
}

long chains_plain(float* sink) {
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = static_cast<float>(i) * 1e-3f;
  for (long n = 0; n < kIterations / 4; ++n) {
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  }
  *sink = acc[0];
  return 2L * (kIterations / 4) * kChains;
}

long run_chains(float* sink) {
  if (__builtin_cpu_supports("avx512f")) return chains_avx512(sink);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return chains_avx2(sink);
  return chains_plain(sink);
}

// Int8 dot products as the quantized matrix kernels do them: unsigned by signed bytes summed
// into 32-bit lanes. Two operations (multiply, add) per byte pair.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) long dots_vnni(float* sink) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (long n = 0; n < kIterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm512_add_epi32(acc[0], acc[i]);
  // The sums wrap around (their value does not matter): read a lane, do not add them in C.
  uint32_t lanes[16];
  _mm512_storeu_si512(lanes, acc[0]);
  *sink = static_cast<float>(lanes[0]);
  return 2L * kIterations * kChains * 64;
}

__attribute__((target("avx2"))) long dots_avx2(float* sink) {
  __m256i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_epi32(i);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (long n = 0; n < kIterations / 2; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) {
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
  }
  for (int i = 1; i < kChains; ++i) acc[0] = _mm256_add_epi32(acc[0], acc[i]);
  int lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), acc[0]);
  *sink = static_cast<float>(lanes[0]);
  return 2L * (kIterations / 2) * kChains * 32;
}

long run_dots(float* sink) {
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) {
    return dots_vnni(sink);
  }
  if (__builtin_cpu_supports("avx2")) return dots_avx2(sink);
  return chains_plain(sink);
}

double best_rate(int threads, int repetitions, long (*work)(float*)) {
  threads = std::max(1, threads);
  double best = 0;
  std::vector<float> sinks(static_cast<size_t>(threads) * 16);
  for (int r = 0; r < repetitions; ++r) {
    std::atomic<long> ops{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] { ops += work(&sinks[static_cast<size_t>(t) * 16]); });
    }
    for (std::thread& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(ops.load()) / seconds);
  }
  return best;
}

}  // namespace

double measure_peak_flops(int threads, int repetitions) {
  return best_rate(threads, repetitions, run_chains);
}

double measure_peak_int8_ops(int threads, int repetitions) {
  return best_rate(threads, repetitions, run_dots);
}

}  // namespace hearth::cli
