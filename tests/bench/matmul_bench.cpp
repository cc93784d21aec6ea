// Throughput of the CPU matmul kernels on TinyLlama-sized matrices.
//   decode  (1 token, or up to 16: beams, parallel streams): GB/s of packed weights
//                         streamed; the matrices cycled through together exceed the
//                         last-level cache, as a whole model does.
//   prefill (128 tokens): GFLOP/s (2 * rows * cols * tokens per matmul).
// Each thread computes its share of the rows, as the engine's thread pool does.
//
// usage: matmul_bench [threads=1] [isa=best|avx512|avx2|reference] [type=all|f32|f16|...]
//                     [tokens=all|N]   (all: 1 and 128)
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/kernels/matmul.h"
#include "gguf/fp16.h"

namespace {

using hearth::TensorType;
using namespace hearth;
using namespace hearth::cpu;

struct TypeInfo {
  TensorType type;
  const char* name;
};
constexpr TypeInfo kTypes[] = {{TensorType::f32, "f32"},
                               {TensorType::f16, "f16"},
                               {TensorType::bf16, "bf16"},
                               {TensorType::q8_0, "q8_0"},
                               {TensorType::q4_0, "q4_0"}};

std::vector<uint8_t> random_gguf(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<uint8_t> out;
  const int64_t n = rows * cols;
  switch (type) {
    case TensorType::f32:
      out.resize(n * 4);
      for (int64_t i = 0; i < n; ++i) {
        const float v = value(rng);
        std::memcpy(&out[i * 4], &v, 4);
      }
      break;
    case TensorType::f16:
    case TensorType::bf16:
      out.resize(n * 2);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h =
            type == TensorType::f16 ? f32_to_f16(value(rng)) : f32_to_bf16(value(rng));
        std::memcpy(&out[i * 2], &h, 2);
      }
      break;
    default: {
      const size_t block = type == TensorType::q8_0 ? 34 : 18;
      out.resize(static_cast<size_t>(n / 32) * block);
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(rng());
      for (size_t i = 0; i < out.size(); i += block) {  // sane scales
        const uint16_t d = f32_to_f16(0.01f);
        std::memcpy(&out[i], &d, 2);
      }
    }
  }
  return out;
}

double thread_cpu_seconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Up to this many tokens a matmul reads its weights from memory, as decoding does.
constexpr int64_t kStreamTokens = 16;

struct Result {
  double seconds_per_matmul;
  double bytes_per_matmul;
  double flops_per_matmul;
};

// Runs `reps` passes over `matrices`, each matmul split by rows across `threads` threads.
Result run(Isa isa, const std::vector<PackedWeights>& matrices, int64_t tokens, int threads,
           int reps) {
  const int64_t rows = matrices[0].rows(), cols = matrices[0].cols();
  std::vector<float> x(tokens * cols);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (float& v : x) v = value(rng);
  std::vector<float> y(tokens * rows);
  ActivationBuffer buffer;
  buffer.reserve(matrices[0].type(), tokens, cols);
  prepare_activations(isa, matrices[0], x.data(), cols, buffer, 0, tokens);

  // Row shares are multiples of kMatmulRowAlign, the last one takes the remainder.
  auto share = [&](int i) {
    const int64_t per = (rows / threads + kMatmulRowAlign - 1) / kMatmulRowAlign * kMatmulRowAlign;
    return std::pair{std::min(rows, i * per),
                     i == threads - 1 ? rows : std::min(rows, (i + 1) * per)};
  };
  std::barrier sync(threads);
  auto work = [&](int i, int passes) {
    const auto [begin, end] = share(i);
    for (int pass = 0; pass < passes; ++pass) {
      for (const PackedWeights& w : matrices) {
        matmul(isa, w, buffer, tokens, y.data(), rows, begin, end);
        sync.arrive_and_wait();
      }
    }
  };
  auto run_threads = [&](int passes) {
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back(work, i, passes);
    work(0, passes);
    for (auto& t : pool) t.join();
  };
  run_threads(1);  // untimed: warms caches and page tables
  // The machine may be shared: the best of several timed runs is the least disturbed one,
  // and with one thread its CPU time (which excludes time other processes ran) is used.
  double seconds = 1e30;
  for (int trial = 0; trial < 5; ++trial) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_seconds();
    run_threads(reps);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    seconds = std::min(seconds, threads == 1 ? thread_cpu_seconds() - cpu_start : wall);
  }
  const double count = static_cast<double>(reps) * matrices.size();
  return {seconds / count, static_cast<double>(matrices[0].byte_size()),
          2.0 * rows * cols * tokens};
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  Isa isa = best_isa();
  if (argc > 2 && std::strcmp(argv[2], "best") != 0) {
    for (Isa candidate : {Isa::reference, Isa::avx2, Isa::avx512}) {
      if (std::strcmp(argv[2], isa_name(candidate)) == 0) isa = candidate;
    }
  }
  const std::string only = argc > 3 ? argv[3] : "all";
  const std::string only_tokens = argc > 4 ? argv[4] : "all";
  if (!isa_supported(isa)) {
    std::fprintf(stderr, "%s is not supported here\n", isa_name(isa));
    return 1;
  }
  std::printf("isa %s, %d thread(s)\n", isa_name(isa), threads);
  std::printf("%-5s %-18s %10s %10s %12s\n", "type", "shape", "tokens", "GB/s", "GFLOP/s");
  struct Shape {
    int64_t rows, cols;
    bool cached;  // one small matrix that stays in L2: the kernels' compute ceiling
  };
  for (const TypeInfo& info : kTypes) {
    if (only != "all" && only != info.name) continue;
    for (const Shape shape :
         {Shape{5632, 2048, false}, Shape{2048, 5632, false}, Shape{256, 2048, true}}) {
      // Decode: enough distinct matrices to overflow the 32 MiB L3 several times.
      const auto raw = random_gguf(info.type, shape.rows, shape.cols, 1);
      std::vector<PackedWeights> matrices;
      double total = 0;
      // A few tokens (decode, or a handful of beams or streams) are still a weight stream.
      const bool stream =
          !shape.cached && (only_tokens == "all" || std::stoll(only_tokens) <= kStreamTokens);
      while (total < (stream ? 160e6 : 1)) {
        matrices.push_back(PackedWeights::pack(info.type, raw.data(), shape.rows, shape.cols));
        total += static_cast<double>(matrices.back().byte_size());
      }
      std::vector<int64_t> token_counts = {1, 128};
      if (only_tokens != "all") token_counts = {std::stoll(only_tokens)};
      for (int64_t tokens : token_counts) {
        const bool decode = tokens <= kStreamTokens;
        const std::vector<PackedWeights> used =
            decode ? matrices : std::vector<PackedWeights>(matrices.begin(), matrices.begin() + 1);
        const int reps = shape.cached ? 200 : decode ? 2 : (isa == Isa::reference ? 1 : 4);
        const Result r = run(isa, used, tokens, threads, reps);
        std::printf("%-5s %5lldx%-7lld%s %10lld %10.1f %12.1f\n", info.name,
                    static_cast<long long>(shape.rows), static_cast<long long>(shape.cols),
                    shape.cached ? " (L2)" : "     ", static_cast<long long>(tokens),
                    r.bytes_per_matmul / r.seconds_per_matmul / 1e9,
                    r.flops_per_matmul / r.seconds_per_matmul / 1e9);
      }
    }
  }
  return 0;
}
