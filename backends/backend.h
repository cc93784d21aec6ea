// The backend interface: what every compute device (CPU, CUDA, HIP) implements so the engine
// can run a Llama-family forward pass on it. The engine owns the model's structure and the KV
// cache's bookkeeping; a backend owns device memory, streams and the layer kernels.
//
// Pointers named `*_dev` are device pointers from this backend's allocate(); on the CPU they
// are ordinary host pointers. Kernels are enqueued on the backend's current stream and may run
// asynchronously; synchronize() waits for them. download() returns once the bytes are on the
// host. Host-side arrays (positions, block tables) are
// passed as spans valid only during the call: a device backend copies what it needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "hearth/tensor_type.h"

namespace hearth::backend {

// A block of device memory (ggml: ggml_backend_buffer). Freed by its destructor.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual void* data() = 0;  // device pointer to the first byte
  virtual size_t size() const = 0;
};

// An ordered queue of device work (a CUDA or HIP stream). Work enqueued on one stream runs in
// order; work on different streams may overlap.
class Stream {
 public:
  virtual ~Stream() = default;
};

// A weight matrix resident on the device, in whatever layout the device's kernels prefer.
class DeviceMatrix {
 public:
  virtual ~DeviceMatrix() = default;
  virtual TensorType type() const = 0;
  virtual int64_t rows() const = 0;      // output features
  virtual int64_t cols() const = 0;      // input features
  virtual size_t byte_size() const = 0;  // device memory it occupies
};

// Geometry of the paged KV cache as the attention kernels see it. A block holds
// `block_tokens` positions of every layer, stored as one chunk per (layer, KV head, K or V).
// Each layer has a region at layer_offsets[l]: first the key chunks, ordered
// [kv_heads][total_blocks], then the value chunks in the same order. So one head's chunks of
// consecutive blocks are adjacent, and attention over a sequence streams through memory.
// A key chunk is [head_dim][block_tokens] elements (transposed, so a block's scores are
// contiguous multiply-adds); a value chunk is [block_tokens][head_dim].
struct KvGeometry {
  int32_t block_tokens = 16;
  int32_t head_dim = 0;
  TensorType element = TensorType::f16;  // f16 or f32 keys and values
  size_t block_bytes = 0;                // one block's chunks over all layers
  int32_t total_blocks = 0;
  std::span<const size_t> layer_offsets;    // bytes, one per layer
  std::span<const int32_t> layer_kv_heads;  // one per layer

  size_t element_bytes() const { return element == TensorType::f16 ? 2 : 4; }
  size_t chunk_bytes() const { return size_t(block_tokens) * head_dim * element_bytes(); }
  size_t key_offset(int32_t layer, int32_t kv_head, int32_t block) const {
    return layer_offsets[layer] + (size_t(kv_head) * total_blocks + block) * chunk_bytes();
  }
  size_t value_offset(int32_t layer, int32_t kv_head, int32_t block) const {
    return key_offset(layer, kv_head, block) +
           size_t(layer_kv_heads[layer]) * total_blocks * chunk_bytes();
  }
};

// Which cache slots a batch reads and writes, one entry per token of the batch.
struct KvBatchView {
  std::span<const int32_t> positions;      // logical position of each token
  std::span<const int32_t> slots;          // physical slot written: block * block_tokens + offset
  std::span<const int32_t> table_offsets;  // where each token's sequence table starts in tables
  std::span<const int32_t> tables;         // concatenated block tables of the batch's sequences
};

// What a weight matrix is used for: the forward pass multiplies by it, looks rows up in it
// (token embeddings), or both (an embedding tied to the output projection).
enum class MatrixUse { multiply, lookup, multiply_and_lookup };

enum class RopeStyle { interleaved, neox };  // Llama GGUF (pairs 2i,2i+1) vs Qwen2 (i, i+d/2)

struct DeviceInfo {
  std::string name;         // "cpu", "cuda:0"
  std::string description;  // model name of the processor
  size_t memory_bytes = 0;  // total device memory (0 = unknown)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual DeviceInfo info() const = 0;

  // Memory and transfers.
  virtual std::unique_ptr<DeviceBuffer> allocate(size_t bytes) = 0;
  virtual void upload(void* dst_dev, const void* src_host, size_t bytes) = 0;
  virtual void download(void* dst_host, const void* src_dev, size_t bytes) = 0;
  virtual void copy(void* dst_dev, const void* src_dev, size_t bytes) = 0;

  // Streams. Kernels and copies go to the current stream (null = the device's default one);
  // synchronize() waits until the current stream has finished everything enqueued on it.
  virtual std::unique_ptr<Stream> create_stream() = 0;
  virtual void set_stream(Stream* stream) = 0;
  virtual void synchronize() = 0;

  // Weights: the backend may repack or copy; `host_data` (GGUF layout) stays valid until the
  // model is unloaded, so a host backend may use it in place (lookups do).
  virtual std::unique_ptr<DeviceMatrix> load_matrix(TensorType type, const void* host_data,
                                                    int64_t rows, int64_t cols,
                                                    MatrixUse use = MatrixUse::multiply) = 0;

  // y[t] = W · x[t] for `tokens` rows of x (stride = W.cols()) into y (stride = W.rows()).
  virtual void matmul(const DeviceMatrix& w, const float* x_dev, int64_t tokens, float* y_dev) = 0;
  // out[t] = table row ids[t] as f32 (embedding lookup); ids are host values.
  virtual void embed(const DeviceMatrix& table, std::span<const int32_t> ids, float* out_dev) = 0;
  // out[t] = x[t] / rms(x[t]) * weight, rows of `dim`; out may alias x.
  virtual void rms_norm(const float* x_dev, const float* weight_dev, int64_t tokens, int64_t dim,
                        float eps, float* out_dev) = 0;
  // x += bias per row (Qwen2 QKV bias).
  virtual void add_bias(float* x_dev, const float* bias_dev, int64_t tokens, int64_t dim) = 0;
  // x += y elementwise (residual connections).
  virtual void add(float* x_dev, const float* y_dev, int64_t count) = 0;
  // out = silu(gate) * up over `count` values; out may alias gate.
  virtual void swiglu(const float* gate_dev, const float* up_dev, int64_t count,
                      float* out_dev) = 0;
  // Rotates the first rope_dims of each head of q and k in place by each token's position.
  virtual void rope(float* q_dev, int32_t q_heads, float* k_dev, int32_t k_heads, int32_t head_dim,
                    int32_t rope_dims, float theta, RopeStyle style,
                    std::span<const int32_t> positions) = 0;
  // Writes this batch's k and v rows ([tokens][kv_heads*head_dim]) into the cache slots.
  virtual void kv_store(void* cache_dev, const KvGeometry& geometry, int32_t layer,
                        const float* k_dev, const float* v_dev, const KvBatchView& batch) = 0;
  // Causal attention: token t attends to positions [0, positions[t]] of its own sequence,
  // read through its block table. q: [tokens][q_heads*head_dim]; out likewise.
  virtual void attention(const void* cache_dev, const KvGeometry& geometry, int32_t layer,
                         const float* q_dev, int32_t q_heads, const KvBatchView& batch,
                         float* out_dev) = 0;
};

}  // namespace hearth::backend
