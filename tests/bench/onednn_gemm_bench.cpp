// Prefill-sized f32 GEMM: oneDNN's dnnl_sgemm against hearth's own f32 kernel, on one
// thread, so the choice of prefill path rests on a measurement made on the target machine.
// usage: OMP_NUM_THREADS=1 onednn_gemm_bench [tokens] [rows] [cols]
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cpu/kernels/matmul.h"

namespace {

template <typename Fn>
double best_gflops(int64_t flops, Fn&& fn) {
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    auto start = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops / s / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t tokens = argc > 1 ? std::atoll(argv[1]) : 128;
  const int64_t rows = argc > 2 ? std::atoll(argv[2]) : 5632;
  const int64_t cols = argc > 3 ? std::atoll(argv[3]) : 2048;
  std::vector<float> x(tokens * cols), w(rows * cols), y(tokens * rows);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) * 0.01f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 13) * 0.02f;
  const int64_t flops = 2 * tokens * rows * cols;

  double onednn = best_gflops(flops, [&] {
    dnnl_sgemm('N', 'T', tokens, rows, cols, 1.0f, x.data(), cols, w.data(), cols, 0.0f, y.data(),
               rows);
  });
  using namespace hearth::cpu;
  auto packed = PackedWeights::pack(hearth::TensorType::f32, w.data(), rows, cols);
  ActivationBuffer buffer;
  buffer.reserve(hearth::TensorType::f32, tokens, cols);
  Isa isa = best_isa();
  double own = best_gflops(flops, [&] {
    prepare_activations(isa, packed, x.data(), cols, buffer, 0, tokens);
    matmul(isa, packed, buffer, tokens, y.data(), rows, 0, rows);
  });
  std::printf("f32 GEMM %lldx%lldx%lld: oneDNN sgemm %.1f GFLOP/s, hearth %s %.1f GFLOP/s\n",
              static_cast<long long>(tokens), static_cast<long long>(rows),
              static_cast<long long>(cols), onednn, isa_name(isa), own);
}
