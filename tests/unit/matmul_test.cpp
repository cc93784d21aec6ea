// CPU matmul kernels: every weight type on every path this CPU supports, checked against a
// double-precision product of the dequantized weights and the original f32 activations.
#include "cpu/kernels/matmul.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/kernels/matmul_paths.h"
#include "gguf/dequantize.h"
#include "gguf/fp16.h"
#include "gguf/quant_blocks.h"
#include "hearth/error.h"

namespace {

using hearth::TensorType;
using namespace hearth;
using namespace hearth::cpu;

constexpr Isa kAllIsas[] = {Isa::reference, Isa::avx2, Isa::avx512};

// Random weights in GGUF layout, `rows` rows of `cols` values.
std::vector<uint8_t> random_weights(TensorType type, int64_t rows, int64_t cols,
                                    std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> out;
  auto append = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  if (is_block_format(type)) {
    // Random blocks with sane scales: each format's f16 scale fields overwritten.
    const auto traits = *tensor_type_traits(static_cast<uint32_t>(type));
    std::vector<size_t> scale_fields;
    switch (type) {
      case TensorType::q2_K:
        scale_fields = {80, 82};
        break;
      case TensorType::q3_K:
        scale_fields = {108};
        break;
      case TensorType::q6_K:
        scale_fields = {208};
        break;
      case TensorType::q4_1:
      case TensorType::q5_1:
      case TensorType::q4_K:
      case TensorType::q5_K:
        scale_fields = {0, 2};
        break;
      default:
        scale_fields = {0};
        break;
    }
    const bool sub_scaled = traits.block_values == kSuperBlock;  // sub-block scales multiply d
    for (int64_t b = 0; b < rows * cols / traits.block_values; ++b) {
      const size_t at = out.size();
      for (size_t j = 0; j < traits.block_bytes; ++j)
        out.push_back(static_cast<uint8_t>(byte(rng)));
      for (size_t field : scale_fields) {
        const uint16_t d = f32_to_f16(scale(rng) / (sub_scaled ? 32.0f : 1.0f));
        std::memcpy(out.data() + at + field, &d, 2);
      }
    }
    return out;
  }
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (type == TensorType::f32) {
      const float v = value(rng);
      append(&v, 4);
    } else if (type == TensorType::f16 || type == TensorType::bf16) {
      const uint16_t h = type == TensorType::f16 ? f32_to_f16(value(rng)) : f32_to_bf16(value(rng));
      append(&h, 2);
    } else if (i % 32 == 0) {  // one whole q8_0/q4_0 block: f16 scale then quants
      const uint16_t d = f32_to_f16(scale(rng));
      append(&d, 2);
      for (int j = 0; j < (type == TensorType::q8_0 ? 32 : 16); ++j) {
        out.push_back(static_cast<uint8_t>(byte(rng)));
      }
    }
  }
  return out;
}

struct Shape {
  int64_t rows, cols, row_begin, row_end;
};

// Largest allowed |error| as a fraction of sum |w * x| for one output (about twice the
// worst error seen on these shapes; the narrowest rows, 32 values, average out least).
double tolerance(TensorType type, Isa isa) {
  switch (type) {
    case TensorType::q8_0:
    case TensorType::q4_0:
    case TensorType::q4_1:
    case TensorType::q4_K:
    case TensorType::iq4_nl:
    case TensorType::iq4_xs:  // as iq4_nl, its sub-block scales rounded to f16
    case TensorType::q6_K:
    case TensorType::q3_K:  // as q6_K
    case TensorType::q5_0:
    case TensorType::q5_1:
    case TensorType::q5_K:  // as q5_1, its sub-block scales and mins rounded to f16
    case TensorType::q2_K:  // its half-block scales and mins rounded to f16
      // Activations are rounded to int8 per 32-value block (step max|x| / 127 of the block);
      // the rounding errors have random signs and mostly cancel.
      return 1e-2;
    case TensorType::bf16:
      // The AVX-512 path rounds activations to bf16, a relative error of up to 2^-9.
      if (isa == Isa::avx512 && avx512_uses_bf16_dot(type)) return 4e-3;
      return 2e-6;
    default:
      return 2e-6;  // f32 sums of exact products
  }
}

void check_matmul(TensorType type, Isa isa, const Shape& shape, int64_t tokens) {
  INFO("type " << static_cast<int>(type) << ", " << isa_name(isa) << ", rows " << shape.rows
               << ", cols " << shape.cols << ", rows [" << shape.row_begin << ", " << shape.row_end
               << "), tokens " << tokens);
  std::mt19937 rng(static_cast<uint32_t>(shape.rows * 7919 + shape.cols * 31 + tokens));
  const std::vector<uint8_t> raw = random_weights(type, shape.rows, shape.cols, rng);
  const size_t raw_row_bytes = raw.size() / static_cast<size_t>(shape.rows);

  std::vector<float> weights(static_cast<size_t>(shape.rows * shape.cols));
  for (int64_t r = 0; r < shape.rows; ++r) {
    dequantize_row(type, raw.data() + r * raw_row_bytes, shape.cols, &weights[r * shape.cols]);
  }
  const int64_t ldx = shape.cols + 5;  // activation rows wider than the matrix
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * ldx));
  for (float& v : x) v = value(rng);

  const PackedWeights packed = PackedWeights::pack(type, raw.data(), shape.rows, shape.cols);
  REQUIRE(packed.rows() == shape.rows);
  REQUIRE(packed.cols() == shape.cols);
  REQUIRE(packed.byte_size() >= raw.size());

  ActivationBuffer buffer;
  buffer.reserve(packed.type(), tokens, shape.cols);  // the layout the weights run in
  // Two calls over disjoint token ranges, as two threads would make them.
  const int64_t split = tokens / 2;
  prepare_activations(isa, packed, x.data(), ldx, buffer, 0, split);
  prepare_activations(isa, packed, x.data(), ldx, buffer, split, tokens);

  const int64_t ldy = shape.rows + 3;
  constexpr float kUntouched = -12345.0f;
  std::vector<float> y(static_cast<size_t>(tokens * ldy), kUntouched);
  matmul(isa, packed, buffer, tokens, y.data(), ldy, shape.row_begin, shape.row_end);

  const double allowed = tolerance(type, isa);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < ldy; ++r) {
      const float got = y[t * ldy + r];
      if (r < shape.row_begin || r >= shape.row_end) {
        REQUIRE(got == kUntouched);
        continue;
      }
      double expected = 0, magnitude = 0;
      for (int64_t k = 0; k < shape.cols; ++k) {
        const double product = double(weights[r * shape.cols + k]) * x[t * ldx + k];
        expected += product;
        magnitude += std::fabs(product);
      }
      INFO("token " << t << ", row " << r << ": got " << got << ", expected " << expected
                    << ", sum |w*x| " << magnitude);
      REQUIRE(std::fabs(got - expected) <= allowed * magnitude + 1e-6);
    }
  }
}

void check_type(TensorType type, const std::vector<Shape>& shapes) {
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) {
      WARN(isa_name(isa) << " is not supported by this CPU; its path is not tested");
      continue;
    }
    for (const Shape& shape : shapes) {
      for (int64_t tokens : {1, 3, 17, 64}) check_matmul(type, isa, shape, tokens);
    }
  }
}

// Row counts that are not multiples of 16, sub-ranges starting and ending mid-group, and
// the widths of the real model.
const std::vector<Shape> kQuantShapes = {{37, 32, 0, 37},   {37, 64, 5, 30},   {40, 96, 16, 40},
                                         {21, 2048, 3, 21}, {64, 2048, 0, 64}, {100, 128, 10, 99}};
const std::vector<Shape> kFloatShapes = {{37, 32, 0, 37},   {37, 64, 5, 30},   {40, 96, 16, 40},
                                         {21, 2048, 3, 21}, {64, 2048, 0, 64}, {19, 33, 1, 18},
                                         {100, 128, 10, 99}};

}  // namespace

TEST_CASE("matmul f32 weights match the reference on every path", "[matmul]") {
  check_type(TensorType::f32, kFloatShapes);
}

TEST_CASE("matmul f16 weights match the reference on every path", "[matmul]") {
  check_type(TensorType::f16, kFloatShapes);
}

TEST_CASE("matmul bf16 weights match the reference on every path", "[matmul]") {
  check_type(TensorType::bf16, kFloatShapes);
}

TEST_CASE("matmul q8_0 weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q8_0, kQuantShapes);
}

TEST_CASE("matmul q4_0 weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q4_0, kQuantShapes);
}

// Each token's outputs, bit for bit, must not depend on how many tokens share the call or
// where in the call it sits: the scheduler batches requests together, and a request must get
// exactly its solo result.
void check_batch_invariance(TensorType type, Isa isa) {
  INFO("type " << static_cast<int>(type) << ", " << isa_name(isa));
  const int64_t rows = 53, cols = 256, most = 19;
  std::mt19937 rng(static_cast<uint32_t>(type) * 101 + static_cast<uint32_t>(isa));
  const std::vector<uint8_t> raw = random_weights(type, rows, cols, rng);
  const PackedWeights packed = PackedWeights::pack(type, raw.data(), rows, cols);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(most * cols));
  for (float& v : x) v = value(rng);
  auto run = [&](int64_t first, int64_t tokens) {
    ActivationBuffer buffer;
    buffer.reserve(packed.type(), tokens, cols);  // the layout the weights run in
    prepare_activations(isa, packed, x.data() + first * cols, cols, buffer, 0, tokens);
    std::vector<float> y(static_cast<size_t>(tokens * rows));
    matmul(isa, packed, buffer, tokens, y.data(), rows, 0, rows);
    return y;
  };
  std::vector<std::vector<float>> solo;
  for (int64_t t = 0; t < most; ++t) solo.push_back(run(t, 1));
  for (int64_t tokens = 2; tokens <= most; ++tokens) {
    for (int64_t first = 0; first + tokens <= most; first += 5) {
      const std::vector<float> y = run(first, tokens);
      for (int64_t t = 0; t < tokens; ++t) {
        INFO("token " << first + t << " at " << t << " of " << tokens);
        REQUIRE(std::equal(solo[first + t].begin(), solo[first + t].end(), y.begin() + t * rows));
      }
    }
  }
}

// The block formats without a layout of their own (carried as q8_0), Q4_1 and Q4_K (the q4_1
// layout): super-block formats need widths of whole 256-value super-blocks.
const std::vector<Shape> kSuperBlockShapes = {
    {37, 256, 0, 37}, {40, 512, 16, 40}, {21, 2048, 3, 21}, {100, 256, 10, 99}};

TEST_CASE("matmul q4_1 and q4_K weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q4_1, kQuantShapes);
  check_type(TensorType::q4_K, kSuperBlockShapes);
}

TEST_CASE("matmul iq4_nl and iq4_xs weights match the reference on every path", "[matmul]") {
  check_type(TensorType::iq4_nl, kQuantShapes);
  check_type(TensorType::iq4_xs, kSuperBlockShapes);
}

TEST_CASE("matmul q5_0, q5_1 and q5_K weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q5_0, kQuantShapes);
  check_type(TensorType::q5_1, kQuantShapes);
  check_type(TensorType::q5_K, kSuperBlockShapes);
}

TEST_CASE("matmul q6_K and q3_K weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q6_K, kSuperBlockShapes);
  check_type(TensorType::q3_K, kSuperBlockShapes);
}

TEST_CASE("matmul q2_K weights match the reference on every path", "[matmul]") {
  check_type(TensorType::q2_K, kSuperBlockShapes);
}

TEST_CASE("a token's matmul result does not depend on the batch around it", "[matmul]") {
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) {
      WARN(isa_name(isa) << " is not supported by this CPU; its path is not tested");
      continue;
    }
    for (TensorType type : {TensorType::f32, TensorType::f16, TensorType::bf16, TensorType::q8_0,
                            TensorType::q4_0, TensorType::q4_1, TensorType::q5_0, TensorType::q5_1,
                            TensorType::q2_K, TensorType::q3_K, TensorType::q4_K, TensorType::q5_K,
                            TensorType::q6_K, TensorType::iq4_nl, TensorType::iq4_xs}) {
      check_batch_invariance(type, isa);
    }
  }
}

TEST_CASE("the best path is supported and the reference always is", "[matmul]") {
  CHECK(isa_supported(Isa::reference));
  CHECK(isa_supported(best_isa()));
}

TEST_CASE("pack rejects quantized rows that are not whole blocks", "[matmul]") {
  std::vector<uint8_t> data(34 * 4, 0);
  CHECK_THROWS_AS(PackedWeights::pack(TensorType::q8_0, data.data(), 2, 48), hearth::Error);
  CHECK_THROWS_AS(PackedWeights::pack(TensorType::q4_0, data.data(), 2, 40), hearth::Error);
  CHECK_NOTHROW(PackedWeights::pack(TensorType::q8_0, data.data(), 2, 64));
}

TEST_CASE("misused activation buffers are reported", "[matmul]") {
  std::vector<uint8_t> data(34 * 2, 0);
  const PackedWeights w = PackedWeights::pack(TensorType::q8_0, data.data(), 2, 32);
  std::vector<float> x(32 * 4, 0.0f), y(2 * 4);
  ActivationBuffer buffer;
  buffer.reserve(TensorType::q8_0, 2, 32);
  CHECK_THROWS_AS(prepare_activations(Isa::reference, w, x.data(), 32, buffer, 0, 3),
                  hearth::Error);
  CHECK_NOTHROW(prepare_activations(Isa::reference, w, x.data(), 32, buffer, 0, 2));
  CHECK_THROWS_AS(matmul(Isa::reference, w, buffer, 3, y.data(), 2, 0, 2), hearth::Error);
  CHECK_THROWS_AS(matmul(Isa::reference, w, buffer, 2, y.data(), 2, 0, 3), hearth::Error);
  buffer.reserve(TensorType::f16, 2, 32);
  CHECK_THROWS_AS(matmul(Isa::reference, w, buffer, 2, y.data(), 2, 0, 2), hearth::Error);
}

TEST_CASE("dequantize_row decodes each type", "[matmul]") {
  float out[32];

  const float f32_row[2] = {1.5f, -0.25f};
  dequantize_row(TensorType::f32, f32_row, 2, out);
  CHECK(out[0] == 1.5f);
  CHECK(out[1] == -0.25f);

  const uint16_t f16_row[3] = {0x3c00, 0xc000, 0x3555};  // 1, -2, 0.333251953125
  dequantize_row(TensorType::f16, f16_row, 3, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.0f);
  CHECK(out[2] == 0.333251953125f);

  const uint16_t bf16_row[2] = {0x3f80, 0x4049};  // 1, 3.140625
  dequantize_row(TensorType::bf16, bf16_row, 2, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == 3.140625f);

  uint8_t q8_block[34] = {0x00, 0x38};  // scale 0.5 (f16 0x3800)
  q8_block[2] = 4;
  q8_block[3] = static_cast<uint8_t>(-3);
  q8_block[33] = static_cast<uint8_t>(-128);
  dequantize_row(TensorType::q8_0, q8_block, 32, out);
  CHECK(out[0] == 2.0f);
  CHECK(out[1] == -1.5f);
  CHECK(out[2] == 0.0f);
  CHECK(out[31] == -64.0f);

  uint8_t q4_block[18] = {0x00, 0x40};  // scale 2 (f16 0x4000); nibbles 0 mean -8
  q4_block[2] = 0x1a;                   // value 0: (0xa - 8) * 2, value 16: (1 - 8) * 2
  q4_block[17] = 0xf8;                  // value 15: (8 - 8) * 2, value 31: (15 - 8) * 2
  dequantize_row(TensorType::q4_0, q4_block, 32, out);
  CHECK(out[0] == 4.0f);
  CHECK(out[16] == -14.0f);
  CHECK(out[15] == 0.0f);
  CHECK(out[31] == 14.0f);
  CHECK(out[1] == -16.0f);
}

TEST_CASE("f16 and bf16 conversions round to nearest even", "[matmul]") {
  CHECK(f32_to_f16(1.0f) == 0x3c00);
  CHECK(f32_to_f16(65504.0f) == 0x7bff);
  CHECK(f32_to_f16(1e6f) == 0x7c00);
  CHECK(f32_to_f16(0x1p-24f) == 0x0001);         // smallest subnormal
  CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);  // tie rounds to even
  CHECK(f16_to_f32(0x0001) == 0x1p-24f);
  CHECK(f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);  // tie rounds to even
  CHECK(f32_to_bf16(1.0f + 0x1p-7f + 0x1p-8f) == 0x3f82);
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite positive f16 survives a round trip
    REQUIRE(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))) == h);
  }
}
