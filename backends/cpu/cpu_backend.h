// The CPU backend: host memory, a thread pool, SIMD matrix kernels and the layer ops.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "backend.h"
#include "cpu/kernels/matmul.h"
#include "cpu/thread_pool.h"

namespace hearth::cpu {

struct CpuBackendOptions {
  int threads = 0;                // 0 = all physical cores
  std::optional<Isa> forced_isa;  // tests and benchmarks pin a kernel path
};

class CpuBackend final : public backend::Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options = {});
  ~CpuBackend() override;

  int threads() const { return pool_.size(); }
  Isa isa() const { return isa_; }

  backend::DeviceInfo info() const override;
  std::unique_ptr<backend::DeviceBuffer> allocate(size_t bytes) override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  // The CPU runs every call to completion before returning: one implicit stream.
  std::unique_ptr<backend::Stream> create_stream() override;
  void set_stream(backend::Stream*) override {}
  void synchronize() override {}

  std::unique_ptr<backend::DeviceMatrix> load_matrix(TensorType type, const void* host_data,
                                                     int64_t rows, int64_t cols,
                                                     backend::MatrixUse use) override;
  void matmul(const backend::DeviceMatrix& w, const float* x, int64_t tokens, float* y) override;
  void embed(const backend::DeviceMatrix& table, std::span<const int32_t> ids, float* out) override;
  void rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim, float eps,
                float* out) override;
  void add_bias(float* x, const float* bias, int64_t tokens, int64_t dim) override;
  void add(float* x, const float* y, int64_t count) override;
  void swiglu(const float* gate, const float* up, int64_t count, float* out) override;
  void rope(float* q, int32_t q_heads, float* k, int32_t k_heads, int32_t head_dim,
            int32_t rope_dims, float theta, backend::RopeStyle style,
            std::span<const int32_t> positions) override;
  void kv_store(void* cache, const backend::KvGeometry& geometry, int32_t layer, const float* k,
                const float* v, const backend::KvBatchView& batch) override;
  void attention(const void* cache, const backend::KvGeometry& geometry, int32_t layer,
                 const float* q, int32_t q_heads, const backend::KvBatchView& batch,
                 float* out) override;

 private:
  float* attention_scratch(int thread, size_t floats);

  ThreadPool pool_;
  Isa isa_;
  ActivationBuffer activations_;
  std::vector<std::vector<float>> scratch_;  // per thread, grows only
};

}  // namespace hearth::cpu
