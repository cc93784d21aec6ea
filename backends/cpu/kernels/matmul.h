// CPU matrix kernels: y = W · x for every supported weight type, with a plain reference path
// and AVX2 / AVX-512 paths chosen at run time (tests can force each one).
//
// A matmul runs in two phases so that threads share work without allocating:
//   1. prepare_activations(): converts the f32 activations once into the form the weight
//      type's dot product wants (e.g. int8 blocks for Q8_0/Q4_0). Threads split tokens.
//   2. matmul(): each thread computes a range of output rows for all tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "hearth/tensor_type.h"

namespace hearth::cpu {

enum class Isa { reference, avx2, avx512 };

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);  // this CPU (and this build) can run it
Isa best_isa();               // the fastest supported path

// Weights in the layout the kernels read. rows = output features, cols = input features
// (GGUF dims[1] and dims[0]). Owns a repacked copy (row groups of 16, packed_layout.h);
// copies share it.
class PackedWeights {
 public:
  // Copies `data` (GGUF layout), which may be released afterwards. Throws hearth::Error for
  // an unsupported type or a q8_0/q4_0 row that is not whole 32-value blocks.
  static PackedWeights pack(TensorType type, const void* data, int64_t rows, int64_t cols);

  TensorType type() const { return type_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  size_t byte_size() const;  // bytes the packed form occupies (owned or referenced)

  // Implementation detail shared with the kernels (layout in packed_layout.h): rows are
  // stored in groups of 16, group_stride() bytes apart. row_stride() is the size of one
  // row in the source (GGUF) layout.
  const std::byte* data() const { return data_; }
  size_t row_stride() const { return row_stride_; }
  size_t group_stride() const { return group_stride_; }

 private:
  TensorType type_ = TensorType::f32;
  int64_t rows_ = 0, cols_ = 0;
  const std::byte* data_ = nullptr;
  size_t row_stride_ = 0;
  size_t group_stride_ = 0;
  size_t byte_size_ = 0;
  std::shared_ptr<std::byte[]> owned_;
};

// Reusable scratch holding activations prepared for one weight type. Grows on demand and
// never shrinks, so a steady state allocates nothing.
class ActivationBuffer {
 public:
  // Makes room for `tokens` rows of `cols` values for weights of `type`.
  void reserve(TensorType type, int64_t tokens, int64_t cols);

  // Implementation detail shared with the kernels (layout in packed_layout.h). Rows are
  // 64-byte aligned.
  std::byte* data() { return aligned_; }
  const std::byte* data() const { return aligned_; }
  size_t row_stride() const { return row_stride_; }
  TensorType type() const { return type_; }
  int64_t tokens() const { return tokens_; }  // as last reserved
  int64_t cols() const { return cols_; }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::byte* aligned_ = nullptr;  // data_ rounded up to a 64-byte boundary
  size_t capacity_ = 0;           // usable bytes from aligned_
  int64_t tokens_ = 0;
  int64_t cols_ = 0;
  size_t row_stride_ = 0;
  TensorType type_ = TensorType::f32;
};

// Phase 1: converts tokens [t_begin, t_end) of x (row stride ldx floats) for weights `w`.
// Call buffer.reserve(w.type(), tokens, w.cols()) first (single-threaded).
void prepare_activations(Isa isa, const PackedWeights& w, const float* x, int64_t ldx,
                         ActivationBuffer& buffer, int64_t t_begin, int64_t t_end);

// Phase 2: y[t * ldy + r] = sum_k W[r][k] * x[t][k] for r in [row_begin, row_end) and
// t in [0, tokens). Row ranges handed to different threads should be multiples of
// kMatmulRowAlign (except the last) so no two threads touch the same cache line of y.
inline constexpr int64_t kMatmulRowAlign = 16;
// The row ranges a parallel matmul is cut into: four groups, so the kernels' tiles of four
// groups fill every range (a range of one group would run the least efficient tile).
inline constexpr int64_t kMatmulChunkRows = 4 * kMatmulRowAlign;
void matmul(Isa isa, const PackedWeights& w, const ActivationBuffer& x, int64_t tokens, float* y,
            int64_t ldy, int64_t row_begin, int64_t row_end);

}  // namespace hearth::cpu
