// The CPU backend: host memory, a thread pool, SIMD matrix kernels and the layer ops.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "backend.h"
#include "backend_registry.h"
#include "cpu/kernels/matmul.h"
#include "cpu/thread_pool.h"

namespace hearth::cpu {

struct CpuBackendOptions {
  int threads = 0;                // 0 = all physical cores
  std::optional<Isa> forced_isa;  // tests and benchmarks pin a kernel path
};

// The registry's entry for this backend ("cpu"; kernel paths are the Isa names).
backend::BackendEntry backend_entry();

class CpuBackend final : public backend::Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options = {});
  ~CpuBackend() override;

  int threads() const { return pool_.size(); }
  Isa isa() const { return isa_; }

  backend::DeviceInfo info() const override;
  size_t allocated_bytes() const override { return allocated_.load(); }
  std::unique_ptr<backend::DeviceBuffer> allocate(size_t bytes) override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;

  std::unique_ptr<backend::DeviceMatrix> load_matrix(TensorType type, const void* host_data,
                                                     int64_t rows, int64_t cols,
                                                     backend::MatrixUse use) override;
  std::unique_ptr<backend::KvStorage> create_kv_storage(
      const backend::KvStorageDesc& desc) override;

  // Every call runs to completion before it returns, so the pass's host arrays are read in
  // place and end_pass() has nothing to do.
  void begin_pass(const backend::PassInfo& pass) override {
    pass_ = pass;
    rope_tables_.valid = false;
  }

  void matmul(const backend::DeviceMatrix& w, const float* x, int64_t tokens, float* y) override;
  // Consecutive matrices of one type and width share one quantization of x and one parallel
  // region: fewer waits for the other threads, and x is prepared once instead of per matrix.
  void matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x,
                           int64_t tokens) override;
  void embed(const backend::DeviceMatrix& table, float* out) override;
  void rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim, float eps,
                float* out) override;
  void add_bias(float* x, const float* bias, int64_t tokens, int64_t dim) override;
  void add(float* x, const float* y, int64_t count) override;
  void swiglu(const float* gate, const float* up, int64_t count, float* out) override;
  void rope(float* q, int32_t q_heads, float* k, int32_t k_heads,
            const backend::RopeParams& rope) override;
  void kv_store(backend::KvStorage& cache, int32_t layer, const float* k, const float* v) override;
  void attention(const backend::KvStorage& cache, int32_t layer, const float* q, int32_t q_heads,
                 float* out, int32_t window = 0) override;
  void gather_rows(const float* x, int64_t dim, float* out) override;

 private:
  float* attention_scratch(int thread, size_t floats);

  ThreadPool pool_;
  Isa isa_;
  ActivationBuffer activations_;
  std::vector<std::vector<float>> scratch_;  // per thread, grows only
  backend::PassInfo pass_;
  // cos and sin of every angle of the pass ([token][pair]), for the parameters they were made
  // with; rebuilt once per pass, not once per layer.
  struct RopeTables {
    bool valid = false;
    float theta = 0;
    int32_t rope_dims = 0;
    const float* freq_factors = nullptr;
    float position_scale = 0;
    std::vector<float> cos, sin;
  } rope_tables_;
  // Bytes held by this backend's buffers and packed matrices, which report back when freed
  // (they must not outlive it).
  std::atomic<size_t> allocated_{0};
};

}  // namespace hearth::cpu
