// The backend interface: what every compute device (CPU, CUDA, HIP) implements so the engine
// can run a Llama-family forward pass on it. The engine owns the model's structure and the KV
// cache's bookkeeping (block tables, reference counts); a backend owns device memory, the KV
// storage and its layout, and the layer kernels.
//
// Ordering: every call is issued from one thread and takes effect in call order, as if each
// ran to completion before the next; a device backend may queue them on one stream. download()
// returns once the bytes are on the host, so a pass ends when its logits are downloaded.
//
// Pointers named `*_dev` are device pointers from this backend's allocate(); on the CPU they
// are ordinary host pointers. Activations are `Activation` elements (f32 on every backend
// today); the weights a kernel reads stay in their file type (matmul) or f32 (norm weights,
// biases). Logits reach the host as f32.
//
// Everything a backend creates (buffers, matrices, KV storage) is destroyed before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hearth/tensor_type.h"

namespace hearth::backend {

// Element type of the activations the forward pass hands between ops, named so that moving
// to 16-bit activations changes this alias rather than every signature.
using Activation = float;

// A block of device memory (ggml: ggml_backend_buffer). Freed by its destructor.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual void* data() = 0;  // device pointer to the first byte
  virtual size_t size() const = 0;
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

// What the paged KV cache stores: `blocks` blocks of `block_tokens` positions, each holding
// the keys and values of every layer. Layers may have different KV head counts.
struct KvStorageDesc {
  std::vector<int32_t> layer_kv_heads;
  int32_t head_dim = 0;
  int32_t block_tokens = 16;
  TensorType element = TensorType::f16;  // f16 or f32 keys and values
  int32_t blocks = 0;

  size_t element_bytes() const { return element == TensorType::f16 ? 2 : 4; }
  // Keys and values of one layer's position: 2 * kv_heads * head_dim elements.
  size_t row_elements(size_t layer) const { return size_t(layer_kv_heads[layer]) * head_dim; }
  // One block over all layers: the payload every layout stores (padding not counted).
  size_t block_bytes() const {
    size_t bytes = 0;
    for (size_t l = 0; l < layer_kv_heads.size(); ++l) bytes += 2 * row_elements(l);
    return bytes * block_tokens * element_bytes();
  }
  // Size of `tokens` positions in the canonical form (KvStorage::read_rows).
  size_t canonical_bytes(int32_t tokens) const {
    return block_bytes() / block_tokens * size_t(tokens);
  }
};

// The KV cache's memory on the device, in the backend's private layout. The engine names
// blocks by index; which bytes hold a block is the backend's business.
class KvStorage {
 public:
  virtual ~KvStorage() = default;
  virtual const KvStorageDesc& desc() const = 0;
  virtual size_t byte_size() const = 0;  // device memory it occupies

  // Copies every layer's keys and values of block `from` into block `to` (copy-on-write).
  virtual void copy_block(int32_t from, int32_t to) = 0;

  // Positions [0, tokens) of a sequence whose block table is `blocks`, in the canonical,
  // layout-independent form: for each layer, its keys as [tokens][kv_heads * head_dim], then
  // its values the same way, in the storage's element type (desc().canonical_bytes(tokens)
  // bytes in all). One call moves a whole sequence, so a device backend transfers it in bulk.
  virtual void read_rows(std::span<const int32_t> blocks, int32_t tokens, void* host) const = 0;
  // The inverse: fills positions [0, tokens) from the canonical form. Positions of the last
  // block beyond `tokens` are left undefined.
  virtual void write_rows(std::span<const int32_t> blocks, int32_t tokens, const void* host) = 0;
};

// The batch of one forward pass, one entry per row (token) unless stated. Host arrays.
struct PassInfo {
  std::span<const int32_t> tokens;         // token id of each row (embed)
  std::span<const int32_t> positions;      // logical position of each row (rope, attention)
  std::span<const int32_t> slots;          // KV slot each row writes: block * block_tokens + offset
  std::span<const int32_t> table_offsets;  // where each row's sequence table starts in tables
  std::span<const int32_t> tables;         // concatenated block tables of the batch's sequences
  std::span<const int32_t> logit_rows;     // rows whose logits the pass returns, ascending
};

// What a weight matrix is used for: the forward pass multiplies by it, looks rows up in it
// (token embeddings), or both (an embedding tied to the output projection).
enum class MatrixUse { multiply, lookup, multiply_and_lookup };

// Rotary position embedding of one layer's queries and keys.
struct RopeParams {
  int32_t head_dim = 0;
  int32_t rope_dims = 0;  // the first rope_dims of each head rotate (even, <= head_dim)
  float theta = 10000.0f;
  // Rotated pairs: (i, i + rope_dims/2) as in NeoX/Qwen2, else (2i, 2i+1) as in Llama GGUF.
  bool neox = false;
  // Pair i turns at theta^(-2i/rope_dims) / freq_factors[i] (Llama 3.1+; null: 1) per
  // position, positions multiplied by position_scale (linear interpolation).
  const float* freq_factors = nullptr;
  float position_scale = 1.0f;
};

struct DeviceInfo {
  std::string name;         // "cpu", "cuda:0"
  std::string description;  // model name of the processor
  size_t total_bytes = 0;   // device memory (CPU: MemTotal); 0 = unknown
  size_t free_bytes = 0;    // of which free now (CPU: MemAvailable); 0 = unknown
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual DeviceInfo info() const = 0;
  // Device memory this backend holds now: buffers, matrices and KV storage.
  virtual size_t allocated_bytes() const = 0;

  // Memory and transfers.
  virtual std::unique_ptr<DeviceBuffer> allocate(size_t bytes) = 0;
  virtual void upload(void* dst_dev, const void* src_host, size_t bytes) = 0;
  virtual void download(void* dst_host, const void* src_dev, size_t bytes) = 0;

  // Weights: the backend may repack or copy; `host_data` (GGUF layout) stays valid until the
  // model is unloaded, so a host backend may use it in place (lookups do).
  virtual std::unique_ptr<DeviceMatrix> load_matrix(TensorType type, const void* host_data,
                                                    int64_t rows, int64_t cols,
                                                    MatrixUse use = MatrixUse::multiply) = 0;
  // The KV cache's storage, laid out as this backend's attention reads it. Throws
  // hearth::Error (out_of_memory) when the device cannot hold it.
  virtual std::unique_ptr<KvStorage> create_kv_storage(const KvStorageDesc& desc) = 0;

  // A pass: begin_pass(), the ops of every layer, end_pass(). The ops that need batch
  // metadata (embed, rope, kv_store, attention, gather_rows) read the current pass's.
  // begin_pass: `pass`'s arrays stay valid until end_pass(); a host backend reads them in
  // place, a device backend uploads them here, once per pass rather than once per op.
  virtual void begin_pass(const PassInfo& pass) = 0;
  // (optional) ends the pass; the default does nothing. A device backend may have recorded
  // the ops since begin_pass() and launch them here as one graph (or fused kernels), reusing
  // the capture while the batch's shape repeats; it must still honour the ordering above.
  virtual void end_pass() {}

  // y[t] = W · x[t] for `tokens` rows of x (stride = W.cols()) into y (stride = W.rows()).
  virtual void matmul(const DeviceMatrix& w, const Activation* x_dev, int64_t tokens,
                      Activation* y_dev) = 0;
  // One product of matmul_shared_input().
  struct MatmulOutput {
    const DeviceMatrix* w;
    Activation* y_dev;
  };
  // matmul() of several matrices with the same input (q, k and v; gate and up). The default
  // runs them one by one; a backend may prepare x once and run the products as one job.
  virtual void matmul_shared_input(std::span<const MatmulOutput> outputs, const Activation* x_dev,
                                   int64_t tokens) {
    for (const MatmulOutput& o : outputs) matmul(*o.w, x_dev, tokens, o.y_dev);
  }
  // out[t] = row tokens[t] of `table`, one row per row of the pass (embedding lookup). Throws
  // hearth::Error for an id outside the table.
  virtual void embed(const DeviceMatrix& table, Activation* out_dev) = 0;
  // out[t] = x[t] / rms(x[t]) * weight, rows of `dim`; out may alias x.
  virtual void rms_norm(const Activation* x_dev, const float* weight_dev, int64_t tokens,
                        int64_t dim, float eps, Activation* out_dev) = 0;
  // x += bias per row (Qwen2 QKV bias).
  virtual void add_bias(Activation* x_dev, const float* bias_dev, int64_t tokens, int64_t dim) = 0;
  // x += y elementwise (residual connections).
  virtual void add(Activation* x_dev, const Activation* y_dev, int64_t count) = 0;
  // out = silu(gate) * up over `count` values; out may alias gate.
  virtual void swiglu(const Activation* gate_dev, const Activation* up_dev, int64_t count,
                      Activation* out_dev) = 0;
  // Rotates q ([rows][q_heads * head_dim]) and k ([rows][k_heads * head_dim]) in place by each
  // row's position.
  virtual void rope(Activation* q_dev, int32_t q_heads, Activation* k_dev, int32_t k_heads,
                    const RopeParams& rope) = 0;
  // Writes the pass's k and v rows ([rows][kv_heads * head_dim] of `layer`) into their slots.
  virtual void kv_store(KvStorage& cache, int32_t layer, const Activation* k_dev,
                        const Activation* v_dev) = 0;
  // Causal attention: row t attends to positions [0, positions[t]] of its own sequence, read
  // through its block table (scale 1/sqrt(head_dim)); with a sliding window of w > 0
  // positions (Mistral), to [positions[t] - w + 1, positions[t]] only. q: [rows][q_heads *
  // head_dim], q_heads a multiple of the layer's KV heads; out likewise.
  virtual void attention(const KvStorage& cache, int32_t layer, const Activation* q_dev,
                         int32_t q_heads, Activation* out_dev, int32_t window = 0) = 0;
  // out[r] = x[logit_rows[r]] for the pass's logit rows, rows of `dim`; out may alias x.
  virtual void gather_rows(const Activation* x_dev, int64_t dim, Activation* out_dev) = 0;
};

}  // namespace hearth::backend
