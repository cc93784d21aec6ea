// The CUDA backend: device memory, weights, passes and ops, each op one or a few kernels queued
// on the device's one stream (cuda_kernels.cu). Host work stays small: the pass's arrays are
// uploaded once at begin_pass, the RoPE angles once per pass.
#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_kv_storage.h"
#include "cuda/cuda_memory.h"
#include "gguf/dequantize.h"
#include "gguf/fp16.h"
#include "hearth/tensor_type.h"

namespace hearth::HEARTH_GPU_NAMESPACE {
namespace {

// Scores of the attention kernel at most (floats); longer batches run in several launches.
constexpr size_t kMaxScoreFloats = size_t{64} << 20;
// Rows of a decoded matrix converted on the host per upload.
constexpr size_t kConversionBytes = size_t{64} << 20;

// The format a file type is kept in on the device (device_formats.h).
DeviceFormat device_format(TensorType type) {
  switch (type) {
    case TensorType::f32:
      return DeviceFormat::f32;
    case TensorType::bf16:
      return DeviceFormat::bf16;
    case TensorType::q8_0:
      return DeviceFormat::q8_0;
    case TensorType::q4_0:
      return DeviceFormat::q4_0;
    default:
      return DeviceFormat::f16;  // f16 itself, and every format decoded at load
  }
}

bool kept_as_stored(TensorType type) {
  return type == TensorType::f32 || type == TensorType::f16 || type == TensorType::bf16 ||
         type == TensorType::q8_0 || type == TensorType::q4_0;
}

class CudaMatrix final : public backend::DeviceMatrix {
 public:
  CudaMatrix(TensorType type, DeviceFormat format, int64_t rows, int64_t cols,
             std::unique_ptr<CudaBuffer> data)
      : type_(type), format_(format), rows_(rows), cols_(cols), data_(std::move(data)) {}
  TensorType type() const override { return type_; }
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  size_t byte_size() const override { return data_->size(); }
  DeviceFormat format() const { return format_; }
  const uint8_t* data() const { return static_cast<const uint8_t*>(data_->data()); }

 private:
  TensorType type_;
  DeviceFormat format_;
  int64_t rows_, cols_;
  std::unique_ptr<CudaBuffer> data_;
};

const CudaMatrix& as_cuda(const backend::DeviceMatrix& m) {
  return static_cast<const CudaMatrix&>(m);
}

class CudaBackend final : public backend::Backend {
 public:
  explicit CudaBackend(int index) : pass_arrays_(context_), rope_(context_), scratch_(context_) {
    context_.index = index;
    context_.use();
    check(cudaStreamCreateWithFlags(&context_.stream, cudaStreamNonBlocking), "creating a stream");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, index), "reading the device's properties");
    description_ = prop.name;
  }
  ~CudaBackend() override {
    (void)cudaStreamSynchronize(context_.stream);
    (void)cudaStreamDestroy(context_.stream);
  }

  backend::DeviceInfo info() const override {
    context_.use();
    size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "reading the device's memory");
    return {HEARTH_GPU_NAME ":" + std::to_string(context_.index), description_, total_bytes,
            free_bytes};
  }
  size_t allocated_bytes() const override { return context_.allocated; }

  std::unique_ptr<backend::DeviceBuffer> allocate(size_t bytes) override {
    return std::make_unique<CudaBuffer>(context_, bytes);
  }
  void upload(void* dst, const void* src, size_t bytes) override {
    context_.use();
    context_.upload(dst, src, bytes);
  }
  void download(void* dst, const void* src, size_t bytes) override {
    context_.use();
    context_.download(dst, src, bytes);
  }

  std::unique_ptr<backend::DeviceMatrix> load_matrix(TensorType type, const void* host_data,
                                                     int64_t rows, int64_t cols,
                                                     backend::MatrixUse) override;
  std::unique_ptr<backend::KvStorage> create_kv_storage(
      const backend::KvStorageDesc& desc) override {
    return std::make_unique<CudaKvStorage>(context_, desc);
  }

  void begin_pass(const backend::PassInfo& pass) override;

  void matmul(const backend::DeviceMatrix& w, const float* x, int64_t tokens, float* y) override {
    const CudaMatrix& m = as_cuda(w);
    launch_matmul(m.format(), m.data(), m.rows(), m.cols(), x, tokens, y, context_.stream);
    launched("matmul");
  }
  void embed(const backend::DeviceMatrix& table, float* out) override;
  void rms_norm(const float* x, const float* weight, int64_t tokens, int64_t dim, float eps,
                float* out) override {
    launch_rms_norm(x, weight, tokens, dim, eps, out, context_.stream);
    launched("rms_norm");
  }
  void add_bias(float* x, const float* bias, int64_t tokens, int64_t dim) override {
    launch_add_bias(x, bias, tokens, dim, context_.stream);
    launched("add_bias");
  }
  void add(float* x, const float* y, int64_t count) override {
    launch_add(x, y, count, context_.stream);
    launched("add");
  }
  void swiglu(const float* gate, const float* up, int64_t count, float* out) override {
    launch_swiglu(gate, up, count, out, context_.stream);
    launched("swiglu");
  }
  void rope(float* q, int32_t q_heads, float* k, int32_t k_heads,
            const backend::RopeParams& rope) override;
  void kv_store(backend::KvStorage& cache, int32_t layer, const float* k, const float* v) override {
    auto& storage = static_cast<CudaKvStorage&>(cache);
    launch_kv_store(storage.layer_data(layer), storage.geometry(layer), storage.f16(), k, v,
                    pass_.slots, rows_, context_.stream);
    launched("kv_store");
  }
  void attention(const backend::KvStorage& cache, int32_t layer, const float* q, int32_t q_heads,
                 float* out, int32_t window) override;
  void gather_rows(const float* x, int64_t dim, float* out) override;

 private:
  // Raises what a launch refused (a bad configuration); failures while running surface at the
  // next download.
  void launched(const char* op) const { check(cudaGetLastError(), op); }

  // The current pass's arrays on the device.
  struct PassArrays {
    const int32_t *tokens = nullptr, *positions = nullptr, *slots = nullptr,
                  *table_offsets = nullptr, *tables = nullptr, *logit_rows = nullptr;
  };

  DeviceContext context_;
  std::string description_;
  ScratchBuffer pass_arrays_, rope_, scratch_;
  PassArrays pass_;
  int64_t rows_ = 0, logit_count_ = 0;
  int32_t max_context_ = 0;
  std::vector<int32_t> host_tokens_;
  std::vector<int32_t> host_positions_;
  bool rope_valid_ = false;  // rope_ holds this pass's angles for rope_params_
  backend::RopeParams rope_params_;
};

std::unique_ptr<backend::DeviceMatrix> CudaBackend::load_matrix(TensorType type,
                                                                const void* host_data, int64_t rows,
                                                                int64_t cols, backend::MatrixUse) {
  const DeviceFormat format = device_format(type);
  if ((format == DeviceFormat::q8_0 || format == DeviceFormat::q4_0) && cols % kBlockValues) {
    throw Error(HEARTH_GPU_NAME ": a " + tensor_type_name(static_cast<uint32_t>(type)) +
                " matrix of " + std::to_string(cols) + " columns is not whole blocks of 32");
  }
  const size_t row = row_bytes(format, cols);
  auto data = std::make_unique<CudaBuffer>(context_, row * size_t(rows));
  auto* device = static_cast<uint8_t*>(data->data());
  if (kept_as_stored(type)) {
    context_.upload(device, host_data, row * size_t(rows));
  } else {
    // Decoded on the host to f16, a slice of rows at a time, each slice uploaded before the
    // next is decoded (the upload copies pageable memory before it returns).
    const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
    if (!traits) {
      throw Error(HEARTH_GPU_NAME ": unsupported tensor type " +
                  tensor_type_name(static_cast<uint32_t>(type)));
    }
    const size_t stored_row = size_t(cols / traits->block_values) * traits->block_bytes;
    const int64_t slice = std::max<int64_t>(1, int64_t(kConversionBytes / row));
    std::vector<float> values(static_cast<size_t>(cols));
    std::vector<uint16_t> halves(size_t(std::min(slice, rows)) * size_t(cols));
    for (int64_t r0 = 0; r0 < rows; r0 += slice) {
      const int64_t n = std::min(slice, rows - r0);
      for (int64_t r = 0; r < n; ++r) {
        dequantize_row(type, static_cast<const uint8_t*>(host_data) + size_t(r0 + r) * stored_row,
                       cols, values.data());
        for (int64_t k = 0; k < cols; ++k) halves[size_t(r * cols + k)] = f32_to_f16(values[k]);
      }
      context_.upload(device + size_t(r0) * row, halves.data(), size_t(n) * row);
    }
  }
  return std::make_unique<CudaMatrix>(type, format, rows, cols, std::move(data));
}

void CudaBackend::begin_pass(const backend::PassInfo& pass) {
  context_.use();
  rows_ = static_cast<int64_t>(pass.positions.size());
  logit_count_ = static_cast<int64_t>(pass.logit_rows.size());
  host_tokens_.assign(pass.tokens.begin(), pass.tokens.end());
  host_positions_.assign(pass.positions.begin(), pass.positions.end());
  max_context_ = 0;
  for (int32_t p : pass.positions) max_context_ = std::max(max_context_, p + 1);
  rope_valid_ = false;
  // One upload of every array, in a fixed order.
  const std::span<const int32_t> arrays[] = {pass.tokens,        pass.positions, pass.slots,
                                             pass.table_offsets, pass.tables,    pass.logit_rows};
  std::vector<int32_t> packed;
  for (auto a : arrays) packed.insert(packed.end(), a.begin(), a.end());
  auto* device = static_cast<int32_t*>(pass_arrays_.reserve(packed.size() * sizeof(int32_t)));
  context_.upload(device, packed.data(), packed.size() * sizeof(int32_t));
  const int32_t** fields[] = {&pass_.tokens,        &pass_.positions, &pass_.slots,
                              &pass_.table_offsets, &pass_.tables,    &pass_.logit_rows};
  size_t offset = 0;
  for (size_t i = 0; i < 6; ++i) {
    *fields[i] = device + offset;
    offset += arrays[i].size();
  }
}

void CudaBackend::embed(const backend::DeviceMatrix& table, float* out) {
  const CudaMatrix& m = as_cuda(table);
  for (size_t i = 0; i < host_tokens_.size(); ++i) {
    if (host_tokens_[i] < 0 || host_tokens_[i] >= m.rows()) {
      throw Error("token id " + std::to_string(host_tokens_[i]) + " at row " + std::to_string(i) +
                  " is outside the embedding table's " + std::to_string(m.rows()) + " rows");
    }
  }
  launch_embed(m.format(), m.data(), m.cols(), pass_.tokens,
               static_cast<int64_t>(host_tokens_.size()), out, context_.stream);
  launched("embed");
}

void CudaBackend::rope(float* q, int32_t q_heads, float* k, int32_t k_heads,
                       const backend::RopeParams& rope) {
  const int32_t half = rope.rope_dims / 2;
  const bool same = rope_valid_ && rope_params_.theta == rope.theta &&
                    rope_params_.rope_dims == rope.rope_dims &&
                    rope_params_.freq_factors == rope.freq_factors &&
                    rope_params_.position_scale == rope.position_scale;
  auto* angles = static_cast<float*>(rope_.reserve(size_t(rows_) * half * 2 * sizeof(float)));
  if (!same) {
    // The angles as the CPU backend computes them (double, then cos and sin to f32), so both
    // rotate by the same values.
    std::vector<float> table(size_t(rows_) * half * 2);
    for (int32_t i = 0; i < half; ++i) {
      double freq = std::pow(double(rope.theta), -2.0 * i / rope.rope_dims);
      if (rope.freq_factors) freq /= rope.freq_factors[i];
      for (int64_t t = 0; t < rows_; ++t) {
        const double angle = double(host_positions_[size_t(t)]) * rope.position_scale * freq;
        table[size_t(t * half + i) * 2] = static_cast<float>(std::cos(angle));
        table[size_t(t * half + i) * 2 + 1] = static_cast<float>(std::sin(angle));
      }
    }
    context_.upload(angles, table.data(), table.size() * sizeof(float));
    rope_valid_ = true;
    rope_params_ = rope;
  }
  launch_rope(q, q_heads, k, k_heads, rope.head_dim, rope.rope_dims, rope.neox, angles, rows_,
              context_.stream);
  launched("rope");
}

void CudaBackend::attention(const backend::KvStorage& cache, int32_t layer, const float* q,
                            int32_t q_heads, float* out, int32_t window) {
  const auto& storage = static_cast<const CudaKvStorage&>(cache);
  if (rows_ == 0) return;
  const size_t per_row = size_t(q_heads) * std::max(max_context_, 1);
  const int64_t rows_per_launch = std::clamp<int64_t>(int64_t(kMaxScoreFloats / per_row), 1, rows_);
  auto* scores = static_cast<float*>(scratch_.reserve(size_t(rows_per_launch) * per_row * 4));
  const AttentionBatch batch{pass_.positions, pass_.table_offsets, pass_.tables, rows_,
                             max_context_};
  for (int64_t r = 0; r < rows_; r += rows_per_launch) {
    launch_attention(storage.layer_data(layer), storage.geometry(layer), storage.f16(), q, q_heads,
                     out, batch, r, std::min(rows_, r + rows_per_launch), window, scores,
                     context_.stream);
    launched("attention");
  }
}

void CudaBackend::gather_rows(const float* x, int64_t dim, float* out) {
  // out may alias x: gathered into scratch first, then copied over.
  const size_t bytes = size_t(logit_count_) * dim * sizeof(float);
  auto* gathered = static_cast<float*>(scratch_.reserve(bytes));
  launch_gather_rows(x, dim, pass_.logit_rows, logit_count_, gathered, context_.stream);
  launched("gather_rows");
  if (bytes > 0) {
    check(cudaMemcpyAsync(out, gathered, bytes, cudaMemcpyDeviceToDevice, context_.stream),
          "gather_rows");
  }
}

// The devices this machine has, or why none.
int device_count(std::string* why) {
  int count = 0;
  const cudaError_t result = cudaGetDeviceCount(&count);
  if (result != cudaSuccess) {
    if (why) *why = std::string("no " HEARTH_GPU_VENDOR " device: ") + cudaGetErrorString(result);
    (void)cudaGetLastError();  // the query's error is not sticky; clear it for later calls
    return 0;
  }
  if (count == 0 && why) *why = "no " HEARTH_GPU_VENDOR " device: the driver reports none";
  return count;
}

std::unique_ptr<backend::Backend> create(const backend::BackendOptions& options) {
  if (!options.kernels.empty() && options.kernels != HEARTH_GPU_NAME) {
    throw Error(HEARTH_GPU_NAME ": unknown kernel path '" + options.kernels +
                "' (" HEARTH_GPU_NAME ")");
  }
  std::string why;
  const int count = device_count(&why);
  const std::string name = HEARTH_GPU_NAME ":" + std::to_string(options.device_index);
  if (count == 0) throw Error(name + ": " + why);
  if (options.device_index < 0 || options.device_index >= count) {
    throw Error(name + ": no such device (this machine has " + std::to_string(count) +
                " " HEARTH_GPU_VENDOR " device" + (count == 1 ? "" : "s") +
                ", " HEARTH_GPU_NAME ":0 to " HEARTH_GPU_NAME ":" + std::to_string(count - 1) +
                ")");
  }
  return std::make_unique<CudaBackend>(options.device_index);
}

std::vector<std::string> kernel_paths() {
  if (device_count(nullptr) == 0) return {};
  return {HEARTH_GPU_NAME};
}

std::string unavailable_reason() {
  std::string why;
  device_count(&why);
  return why;
}

}  // namespace

backend::BackendEntry backend_entry() {
  return {HEARTH_GPU_NAME, create, kernel_paths, unavailable_reason};
}

}  // namespace hearth::HEARTH_GPU_NAMESPACE
