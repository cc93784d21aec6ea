// quantize_row, the inverse of dequantize_row for the types a replaced weight is stored back
// in: errors within half a step (a step for Q4_0's far side), and a second round trip exact.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gguf/dequantize.h"

using namespace hearth;

namespace {

std::vector<uint8_t> quantized(TensorType type, const std::vector<float>& x) {
  const auto traits = *tensor_type_traits(static_cast<uint32_t>(type));
  std::vector<uint8_t> row(x.size() / traits.block_values * traits.block_bytes);
  quantize_row(type, x.data(), static_cast<int64_t>(x.size()), row.data());
  return row;
}

std::vector<float> dequantized(TensorType type, const std::vector<uint8_t>& row, size_t n) {
  std::vector<float> out(n);
  dequantize_row(type, row.data(), static_cast<int64_t>(n), out.data());
  return out;
}

}  // namespace

TEST_CASE("quantize_row inverts dequantize_row within a quantization step", "[quantize]") {
  std::mt19937 random(20261202);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> x(256);
  for (float& v : x) v = normal(random);
  x[40] = 0.0f;
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // an all-zero block
  for (TensorType type :
       {TensorType::q8_0, TensorType::q4_0, TensorType::f16, TensorType::bf16, TensorType::f32}) {
    CAPTURE(tensor_type_name(static_cast<uint32_t>(type)));
    REQUIRE(can_quantize(type));
    const std::vector<uint8_t> row = quantized(type, x);
    const std::vector<float> back = dequantized(type, row, x.size());
    for (size_t b = 0; b < x.size(); b += 32) {
      float largest = 0;
      for (size_t i = b; i < b + 32; ++i) largest = std::max(largest, std::fabs(x[i]));
      const float step = type == TensorType::q4_0   ? largest / 8
                         : type == TensorType::q8_0 ? largest / 127
                         : type == TensorType::f32  ? 0.0f
                         : type == TensorType::f16  ? largest / 1024
                                                    : largest / 128;
      // Half a step, plus what rounding the scale to f16 moves the block's far end (127 steps
      // by 2^-11 for Q8_0); a whole step on Q4_0's side opposite its largest value.
      const float bound = (type == TensorType::q4_0 ? 1.01f : 0.57f) * step + 1e-7f;
      for (size_t i = b; i < b + 32; ++i) {
        CAPTURE(i);
        CHECK(std::fabs(back[i] - x[i]) <= bound);
      }
    }
    // What came back is on the grid: quantizing it again gives the same bytes.
    CHECK(quantized(type, back) == row);
  }
  CHECK_FALSE(can_quantize(static_cast<TensorType>(16)));  // iq2_xxs: not even read
  std::vector<uint8_t> out(64);
  CHECK_THROWS_WITH(quantize_row(TensorType::q8_0, x.data(), 31, out.data()),
                    Catch::Contains("whole blocks of 32"));
}

TEST_CASE("the block formats hearth writes keep every value within half a step", "[quantize]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(4096);
  for (float& v : x) v = normal(rng);
  x[5] = 0.3f;  // an outlier, as real weights have
  x[700] = -0.25f;
  for (TensorType type : {TensorType::q4_1, TensorType::q5_0, TensorType::q5_1, TensorType::q4_K,
                          TensorType::q5_K, TensorType::q6_K, TensorType::q2_K, TensorType::q3_K,
                          TensorType::iq4_nl, TensorType::iq4_xs}) {
    INFO(tensor_type_name(static_cast<uint32_t>(type)));
    const auto traits = *tensor_type_traits(static_cast<uint32_t>(type));
    const std::vector<uint8_t> row = quantized(type, x);
    const std::vector<float> back = dequantized(type, row, x.size());
    const bool iq4 = type == TensorType::iq4_nl || type == TensorType::iq4_xs;
    const bool sixteen =
        type == TensorType::q6_K || type == TensorType::q2_K || type == TensorType::q3_K;
    const int64_t group = sixteen ? 16 : 32;
    // The (sub-)block's step before its scale is rounded up to the format's scale unit.
    auto step_of = [&](size_t start) {
      float lo = x[start], hi = x[start];
      for (int64_t i = 0; i < group; ++i) {
        lo = std::min(lo, x[start + i]);
        hi = std::max(hi, x[start + i]);
      }
      const float up = std::max(hi, 0.0f), down = std::max(-lo, 0.0f);
      switch (type) {
        case TensorType::q4_1:
          return (hi - lo) / 15;
        case TensorType::q5_1:
          return (hi - lo) / 31;
        case TensorType::q5_0:
          return std::max(up, down) / 15;
        case TensorType::q4_K:
          return (hi - std::min(lo, 0.0f)) / 15;
        case TensorType::q5_K:
          return (hi - std::min(lo, 0.0f)) / 31;
        case TensorType::q2_K:
          return (hi - std::min(lo, 0.0f)) / 3;
        case TensorType::q6_K:
          return std::max(up, down) / 31;
        case TensorType::q3_K:
          return std::max(up / 3, down / 4);
        default:
          return std::max(up / 113, down / 127);  // IQ4
      }
    };
    // Sub-block scales (and mins) are whole units of the super-block's d: rounding one up
    // adds at most a unit, the largest step over the scale's range (63 for 6-bit scales, 127
    // for Q6_K's int8, 31 for Q3_K and IQ4_XS, 15 for Q2_K). Blocks of 32 with their own f16
    // scale add only f16 rounding.
    const float units = type == TensorType::q6_K                                 ? 127
                        : type == TensorType::q3_K || type == TensorType::iq4_xs ? 31
                        : type == TensorType::q2_K                               ? 15
                        : traits.block_values == kSuperBlock                     ? 63
                                                                                 : 0;
    for (size_t super = 0; super < x.size(); super += traits.block_values) {
      float largest = 0;
      for (size_t start = super; start < super + traits.block_values; start += group) {
        largest = std::max(largest, step_of(start));
      }
      const float unit = units > 0 ? largest / units * 2 : largest * 1e-3f;  // scale and min
      for (size_t start = super; start < super + traits.block_values; start += group) {
        const float step = step_of(start) + unit;
        // Half a step; for IQ4, half its widest gap between levels (24 steps).
        const float allowed = (iq4 ? 12.0f : 0.5f) * step + 1e-6f;
        for (int64_t i = 0; i < group; ++i) {
          INFO("value " << start + i << ": " << x[start + i] << " came back as "
                        << back[start + i]);
          CHECK(std::fabs(back[start + i] - x[start + i]) <= allowed);
        }
      }
    }
    CHECK(row.size() == x.size() / traits.block_values * traits.block_bytes);
  }
}
