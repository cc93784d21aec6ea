// What the CUDA kernels read, as functions the host can run too: the weight formats kept on
// the device and the KV storage's layout. The kernels and the host-side tests include this
// header, so the tests check the device's indexing and decoding on any machine.
//
// Weights on the device are rows of one of five formats, as GGUF stores them (no repacking):
//   f32, f16, bf16   `cols` elements a row;
//   q8_0             blocks of 32: f16 scale d, 32 int8 q; value = d * q;
//   q4_0             blocks of 32: f16 scale d, 16 bytes; byte j holds value j in its low
//                    nibble and value j + 16 in its high nibble; value = d * (nibble - 8).
// Every other file type is decoded on the host at load and kept as f16.
//
// KV storage: per layer a region of [K, V][kv_heads][blocks][block_tokens][head_dim]
// elements (f16 or f32), so one position's head is head_dim contiguous elements and the
// threads of a warp read consecutive dimensions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__) || defined(__HIPCC__)
#include "cuda/gpu_vendor.h"
#define HEARTH_GPU_COMPILER 1
#define HEARTH_HD __host__ __device__
#else
#include "gguf/fp16.h"
#define HEARTH_HD
#endif
#if defined(HEARTH_HIP)
#include "cuda/gpu_vendor.h"  // the HIP build's namespace, whatever the include order
#endif
#ifndef HEARTH_GPU_NAMESPACE
#define HEARTH_GPU_NAMESPACE cuda  // the CUDA build, and host code outside a GPU build (tests)
#endif

namespace hearth::HEARTH_GPU_NAMESPACE {

enum class DeviceFormat : int32_t { f32, f16, bf16, q8_0, q4_0 };

inline constexpr int32_t kBlockValues = 32;
inline constexpr int32_t kQ8Bytes = 34;  // bytes of one q8_0 block
inline constexpr int32_t kQ4Bytes = 18;  // bytes of one q4_0 block

HEARTH_HD inline uint16_t load_u16(const uint8_t* p) {
  // Blocks of 18 and 34 bytes leave their f16 scales 2-byte aligned only.
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

HEARTH_HD inline float half_value(uint16_t bits) {
#if defined(HEARTH_GPU_COMPILER)
  __half_raw raw;
  raw.x = bits;
  return __half2float(__half(raw));
#else
  return hearth::f16_to_f32(bits);
#endif
}

HEARTH_HD inline float bf16_value(uint16_t bits) {
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float f;
  memcpy(&f, &word, sizeof f);
  return f;
}

// Bytes of one row of `cols` values.
HEARTH_HD inline size_t row_bytes(DeviceFormat f, int64_t cols) {
  switch (f) {
    case DeviceFormat::f32:
      return size_t(cols) * 4;
    case DeviceFormat::f16:
    case DeviceFormat::bf16:
      return size_t(cols) * 2;
    case DeviceFormat::q8_0:
      return size_t(cols / kBlockValues) * kQ8Bytes;
    default:
      return size_t(cols / kBlockValues) * kQ4Bytes;
  }
}

// Value k of a row.
HEARTH_HD inline float weight_value(DeviceFormat f, const uint8_t* row, int64_t k) {
  switch (f) {
    case DeviceFormat::f32: {
      float v;
      memcpy(&v, row + k * 4, sizeof v);
      return v;
    }
    case DeviceFormat::f16:
      return half_value(load_u16(row + k * 2));
    case DeviceFormat::bf16:
      return bf16_value(load_u16(row + k * 2));
    case DeviceFormat::q8_0: {
      const uint8_t* block = row + (k / kBlockValues) * kQ8Bytes;
      return half_value(load_u16(block)) *
             static_cast<float>(static_cast<int8_t>(block[2 + k % 32]));
    }
    default: {
      const uint8_t* block = row + (k / kBlockValues) * kQ4Bytes;
      const int j = static_cast<int>(k % 32);
      const int nibble = j < 16 ? (block[2 + j] & 0x0f) : (block[2 + j - 16] >> 4);
      return half_value(load_u16(block)) * static_cast<float>(nibble - 8);
    }
  }
}

// The 32 values of block `b` of a quantized row, unscaled (q8_0: q; q4_0: nibble - 8), and
// the block's scale as the return value.
HEARTH_HD inline float block_quants(DeviceFormat f, const uint8_t* row, int64_t b, float* q) {
  if (f == DeviceFormat::q8_0) {
    const uint8_t* block = row + b * kQ8Bytes;
    for (int j = 0; j < 32; ++j) q[j] = static_cast<float>(static_cast<int8_t>(block[2 + j]));
    return half_value(load_u16(block));
  }
  const uint8_t* block = row + b * kQ4Bytes;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<float>((block[2 + j] & 0x0f) - 8);
    q[j + 16] = static_cast<float>((block[2 + j] >> 4) - 8);
  }
  return half_value(load_u16(block));
}

// One layer's part of the KV storage.
struct KvLayerGeometry {
  int32_t kv_heads = 0, blocks = 0, block_tokens = 0, head_dim = 0;

  HEARTH_HD size_t elements() const {
    return size_t(2) * kv_heads * blocks * block_tokens * head_dim;
  }
  // Element d of head `head` at `offset` in `block`; kind 0 = keys, 1 = values.
  HEARTH_HD size_t index(int kind, int32_t head, int32_t block, int32_t offset, int32_t d) const {
    return ((size_t(kind) * kv_heads + head) * blocks + block) * block_tokens * head_dim +
           size_t(offset) * head_dim + d;
  }
  // Element e of the layer's canonical form (KvStorage::read_rows: keys as
  // [tokens][kv_heads * head_dim], then values alike) for a sequence whose block table is
  // `table`: where it lives in the storage.
  HEARTH_HD size_t canonical_index(const int32_t* table, int32_t tokens, size_t e) const {
    const size_t row = size_t(kv_heads) * head_dim;
    const size_t per_kind = size_t(tokens) * row;
    const int kind = e >= per_kind ? 1 : 0;
    const size_t rest = e - kind * per_kind;
    const auto token = static_cast<int32_t>(rest / row);
    const auto head = static_cast<int32_t>(rest % row / head_dim);
    const auto d = static_cast<int32_t>(rest % head_dim);
    return index(kind, head, table[token / block_tokens], token % block_tokens, d);
  }
};

}  // namespace hearth::HEARTH_GPU_NAMESPACE
