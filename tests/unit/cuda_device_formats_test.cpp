// The CUDA kernels' decoding of weights and indexing of the KV storage (cuda/device_formats.h),
// run on the host: built and run on every machine, GPU or not, so the device reads what the
// CPU path reads.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "cuda/device_formats.h"
#include "gguf/dequantize.h"
#include "gguf/fp16.h"

using namespace hearth;
using hearth::cuda::DeviceFormat;
using hearth::cuda::KvLayerGeometry;

namespace {

struct Case {
  TensorType type;
  DeviceFormat format;
};

// A row of `cols` values of `type` with random bytes (scales kept finite and small).
std::vector<uint8_t> random_row(TensorType type, int64_t cols, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  std::vector<uint8_t> row(cuda::row_bytes(type == TensorType::f32    ? DeviceFormat::f32
                                           : type == TensorType::f16  ? DeviceFormat::f16
                                           : type == TensorType::bf16 ? DeviceFormat::bf16
                                           : type == TensorType::q8_0 ? DeviceFormat::q8_0
                                                                      : DeviceFormat::q4_0,
                                           cols));
  for (auto& b : row) b = static_cast<uint8_t>(byte(rng));
  auto put16 = [&](size_t at, uint16_t v) { std::memcpy(&row[at], &v, 2); };
  if (type == TensorType::f32) {
    for (int64_t k = 0; k < cols; ++k) {
      const float v = value(rng);
      std::memcpy(&row[size_t(k) * 4], &v, 4);
    }
  } else if (type == TensorType::f16) {
    for (int64_t k = 0; k < cols; ++k) put16(size_t(k) * 2, f32_to_f16(value(rng)));
  } else if (type == TensorType::bf16) {
    for (int64_t k = 0; k < cols; ++k) put16(size_t(k) * 2, f32_to_bf16(value(rng)));
  } else {
    const size_t block = type == TensorType::q8_0 ? cuda::kQ8Bytes : cuda::kQ4Bytes;
    for (int64_t b = 0; b < cols / 32; ++b) put16(size_t(b) * block, f32_to_f16(value(rng) / 64));
  }
  return row;
}

}  // namespace

TEST_CASE("cuda device formats decode every value as the host's dequantize_row does",
          "[cuda][formats]") {
  std::mt19937 rng(7);
  const Case cases[] = {{TensorType::f32, DeviceFormat::f32},
                        {TensorType::f16, DeviceFormat::f16},
                        {TensorType::bf16, DeviceFormat::bf16},
                        {TensorType::q8_0, DeviceFormat::q8_0},
                        {TensorType::q4_0, DeviceFormat::q4_0}};
  for (const Case& c : cases) {
    const int64_t cols = 96;
    const std::vector<uint8_t> row = random_row(c.type, cols, rng);
    std::vector<float> want(cols);
    dequantize_row(c.type, row.data(), cols, want.data());
    INFO(tensor_type_name(static_cast<uint32_t>(c.type)));
    for (int64_t k = 0; k < cols; ++k) {
      INFO("value " << k);
      REQUIRE(cuda::weight_value(c.format, row.data(), k) == want[size_t(k)]);
    }
    if (c.format == DeviceFormat::q8_0 || c.format == DeviceFormat::q4_0) {
      for (int64_t b = 0; b < cols / 32; ++b) {
        float q[32];
        const float d = cuda::block_quants(c.format, row.data(), b, q);
        for (int j = 0; j < 32; ++j) REQUIRE(d * q[j] == want[size_t(b * 32 + j)]);
      }
    }
  }
}

TEST_CASE("cuda KV layout: the canonical form maps one to one onto the sequence's slots",
          "[cuda][kv]") {
  const KvLayerGeometry g{3, 7, 4, 8};           // kv heads, blocks, block tokens, head size
  const std::vector<int32_t> table = {5, 0, 3};  // a sequence of up to 12 positions
  const int32_t tokens = 10;                     // the last block partly filled
  REQUIRE(g.elements() == size_t(2) * 3 * 7 * 4 * 8);
  // Every storage element names what it holds; the canonical walk must find, at element e,
  // exactly what read_rows' order puts there.
  std::set<size_t> seen;
  const size_t row = size_t(g.kv_heads) * g.head_dim;
  for (size_t e = 0; e < 2 * size_t(tokens) * row; ++e) {
    const size_t at = g.canonical_index(table.data(), tokens, e);
    REQUIRE(at < g.elements());
    REQUIRE(seen.insert(at).second);  // no two canonical elements share a storage element
    const int kind = e < size_t(tokens) * row ? 0 : 1;
    const size_t rest = e - kind * size_t(tokens) * row;
    const auto token = static_cast<int32_t>(rest / row);
    const auto head = static_cast<int32_t>(rest % row / g.head_dim);
    const auto d = static_cast<int32_t>(rest % g.head_dim);
    REQUIRE(at == g.index(kind, head, table[size_t(token / 4)], token % 4, d));
  }
  // One position's head is contiguous, and heads, blocks and kinds do not overlap.
  REQUIRE(g.index(0, 0, 0, 0, 1) == g.index(0, 0, 0, 0, 0) + 1);
  REQUIRE(g.index(0, 0, 0, 1, 0) == g.index(0, 0, 0, 0, 0) + 8);
  REQUIRE(g.index(0, 0, 1, 0, 0) == g.index(0, 0, 0, 3, 7) + 1);
  REQUIRE(g.index(1, 0, 0, 0, 0) == g.index(0, 2, 6, 3, 7) + 1);
  REQUIRE(g.index(1, 2, 6, 3, 7) == g.elements() - 1);
}
