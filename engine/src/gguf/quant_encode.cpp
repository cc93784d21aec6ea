#include "gguf/quant_encode.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "gguf/fp16.h"
#include "gguf/quant_blocks.h"
#include "hearth/error.h"

namespace hearth {
namespace {

// The f16 nearest to v that is not below it (v >= 0), so a scale rounded to f16 still covers
// the range it was computed for.
uint16_t f16_at_least(float v) {
  uint16_t h = f32_to_f16(v);
  if (f16_to_f32(h) < v && h < 0x7bff) ++h;  // positive halves order as their bits
  return h;
}

// The f16 nearest to v that is not above it (v <= 0).
uint16_t f16_at_most(float v) {
  uint16_t h = f32_to_f16(v);
  if (f16_to_f32(h) > v) {
    if (h == 0) return 0x8001;  // the smallest negative subnormal
    h = (h & 0x8000) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h - 1);
  }
  return h;
}

void put_half(uint8_t* at, uint16_t h) { std::memcpy(at, &h, 2); }

int nearest(float v) { return static_cast<int>(std::lround(v)); }

// Q4_1 / Q5_1 block of 32: min rounded down, step rounded up, so [min, min + levels * step]
// holds every value.
void q41_q51(bool five, const float* x, uint8_t* b) {
  const float lo = *std::min_element(x, x + 32), hi = *std::max_element(x, x + 32);
  const int levels = five ? 31 : 15;
  const uint16_t m16 = f16_at_most(lo);
  const float m = f16_to_f32(m16);
  const uint16_t d16 = f16_at_least((hi - m) / static_cast<float>(levels));
  const float d = f16_to_f32(d16);
  const float inverse = d > 0 ? 1.0f / d : 0.0f;
  put_half(b, d16);
  put_half(b + 2, m16);
  int q[32];
  for (int i = 0; i < 32; ++i) q[i] = std::clamp(nearest((x[i] - m) * inverse), 0, levels);
  uint8_t* qs = b + (five ? 8 : 4);
  if (five) {
    uint32_t high = 0;
    for (int j = 0; j < 16; ++j) {
      high |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
      high |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
    }
    std::memcpy(b + 4, &high, 4);
  }
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
}

// Q5_0 block of 32: values -15..15 of one step (the bound is symmetric).
void q50(const float* x, uint8_t* b) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const uint16_t d16 = f16_at_least(amax / 15.0f);
  const float d = f16_to_f32(d16);
  const float inverse = d > 0 ? 1.0f / d : 0.0f;
  put_half(b, d16);
  int q[32];
  for (int i = 0; i < 32; ++i) q[i] = std::clamp(nearest(x[i] * inverse), -15, 15) + 16;
  uint32_t high = 0;
  for (int j = 0; j < 16; ++j) {
    high |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    high |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(b + 2, &high, 4);
  for (int j = 0; j < 16; ++j)
    b[6 + j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
}

// The inverse of the 6-bit scale/min packing that Q4_K and Q5_K decode.
void pack_scales_k4(const int* scales, const int* mins, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = static_cast<uint8_t>(scales[j] & 63);
      q[j + 4] = static_cast<uint8_t>(mins[j] & 63);
    } else {
      q[j + 4] = static_cast<uint8_t>((scales[j] & 15) | ((mins[j] & 15) << 4));
      q[j - 4] = static_cast<uint8_t>(q[j - 4] | ((scales[j] >> 4) << 6));
      q[j] = static_cast<uint8_t>(q[j] | ((mins[j] >> 4) << 6));
    }
  }
}

// Q4_K / Q5_K super-block of 256: each sub-block of 32 spans [min(0, lo), hi]; the mins are
// rounded up in units of dmin and the steps up in units of d, so each sub-block's levels
// still cover all its values and every value ends within half a step of where it was.
void q45_k(bool five, const float* x, uint8_t* b) {
  const int levels = five ? 31 : 15;
  float lo[8], hi[8];
  float max_min = 0;
  for (int j = 0; j < 8; ++j) {
    lo[j] = std::min(0.0f, *std::min_element(x + 32 * j, x + 32 * j + 32));
    hi[j] = *std::max_element(x + 32 * j, x + 32 * j + 32);
    max_min = std::max(max_min, -lo[j]);
  }
  const uint16_t dmin16 = f16_at_least(max_min / 63.0f);
  const float dmin = f16_to_f32(dmin16);
  int mins[8], scales[8];
  float low[8], max_span = 0;
  for (int j = 0; j < 8; ++j) {
    mins[j] = dmin > 0 ? std::min(63, static_cast<int>(std::ceil(-lo[j] / dmin))) : 0;
    low[j] = -dmin * static_cast<float>(mins[j]);
    max_span = std::max(max_span, (hi[j] - low[j]) / static_cast<float>(levels));
  }
  const uint16_t d16 = f16_at_least(max_span / 63.0f);
  const float d = f16_to_f32(d16);
  for (int j = 0; j < 8; ++j) {
    const float span = (hi[j] - low[j]) / static_cast<float>(levels);
    scales[j] = d > 0 ? std::min(63, static_cast<int>(std::ceil(span / d))) : 0;
  }
  put_half(b, d16);
  put_half(b + 2, dmin16);
  pack_scales_k4(scales, mins, b + 4);
  uint8_t* qh = b + 16;
  uint8_t* ql = b + (five ? 48 : 16);
  if (five) std::memset(qh, 0, 32);
  int q[256];
  for (int j = 0; j < 8; ++j) {
    const float step = d * static_cast<float>(scales[j]);
    const float inverse = step > 0 ? 1.0f / step : 0.0f;
    for (int i = 0; i < 32; ++i) {
      q[32 * j + i] = std::clamp(nearest((x[32 * j + i] - low[j]) * inverse), 0, levels);
    }
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int a = q[64 * c + l], e = q[64 * c + 32 + l];
      ql[32 * c + l] = static_cast<uint8_t>((a & 15) | ((e & 15) << 4));
      if (five) {
        qh[l] = static_cast<uint8_t>(qh[l] | (((a >> 4) & 1) << (2 * c)) |
                                     (((e >> 4) & 1) << (2 * c + 1)));
      }
    }
  }
}

// Q6_K super-block of 256: sub-blocks of 16 with values -31..31 of their step; the int8
// sub-block scales rounded up in units of d.
void q6_k(const float* x, uint8_t* b) {
  float step[16], max_step = 0;
  for (int j = 0; j < 16; ++j) {
    float amax = 0;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * j + i]));
    step[j] = amax / 31.0f;
    max_step = std::max(max_step, step[j]);
  }
  const uint16_t d16 = f16_at_least(max_step / 127.0f);
  const float d = f16_to_f32(d16);
  int8_t sc[16];
  int q[256];
  for (int j = 0; j < 16; ++j) {
    const int scale = d > 0 ? std::min(127, static_cast<int>(std::ceil(step[j] / d))) : 0;
    sc[j] = static_cast<int8_t>(scale);
    const float s = d * static_cast<float>(scale);
    const float inverse = s > 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < 16; ++i) {
      q[16 * j + i] = std::clamp(nearest(x[16 * j + i] * inverse), -31, 31) + 32;
    }
  }
  uint8_t packed[256];
  for (int v = 0; v < 256; ++v) packed[v] = static_cast<uint8_t>(q[v]);
  write_q6_k(packed, sc, d16, b);
}

// Q2_K / Q3_K share one arrangement of 16 sub-blocks of 16 values: value v = 128 n + 32 j +
// 16 h + l sits in byte 32 n + 16 h + l of the 2-bit quants at bits 2j, and uses sub-block
// scale 8 n + 2 j + h.
size_t two_bit_byte(int v) { return size_t(32 * (v / 128) + 16 * ((v % 32) / 16) + v % 16); }
int two_bit_shift(int v) { return 2 * ((v % 128) / 32); }

// Q2_K: per sub-block of 16, x = d * scale * q - dmin * min with q in 0..3 and 4-bit scale and
// min; covering as Q4_K does.
void q2_k(const float* x, uint8_t* b) {
  float lo[16], hi[16], max_min = 0;
  for (int j = 0; j < 16; ++j) {
    lo[j] = std::min(0.0f, *std::min_element(x + 16 * j, x + 16 * j + 16));
    hi[j] = *std::max_element(x + 16 * j, x + 16 * j + 16);
    max_min = std::max(max_min, -lo[j]);
  }
  const uint16_t dmin16 = f16_at_least(max_min / 15.0f);
  const float dmin = f16_to_f32(dmin16);
  int mins[16], scales[16];
  float low[16], max_span = 0;
  for (int j = 0; j < 16; ++j) {
    mins[j] = dmin > 0 ? std::min(15, static_cast<int>(std::ceil(-lo[j] / dmin))) : 0;
    low[j] = -dmin * static_cast<float>(mins[j]);
    max_span = std::max(max_span, (hi[j] - low[j]) / 3.0f);
  }
  const uint16_t d16 = f16_at_least(max_span / 15.0f);
  const float d = f16_to_f32(d16);
  std::memset(b, 0, 84);
  for (int j = 0; j < 16; ++j) {
    scales[j] = d > 0 ? std::min(15, static_cast<int>(std::ceil((hi[j] - low[j]) / 3.0f / d))) : 0;
    b[j] = static_cast<uint8_t>(scales[j] | (mins[j] << 4));
  }
  for (int v = 0; v < 256; ++v) {
    const int j = 8 * (v / 128) + 2 * ((v % 128) / 32) + (v % 32) / 16;
    const float step = d * static_cast<float>(scales[j]);
    const int q = step > 0 ? std::clamp(nearest((x[v] - low[j]) / step), 0, 3) : 0;
    b[16 + two_bit_byte(v)] =
        static_cast<uint8_t>(b[16 + two_bit_byte(v)] | (q << two_bit_shift(v)));
  }
  put_half(b + 80, d16);
  put_half(b + 82, dmin16);
}

// Q3_K: per sub-block of 16, x = d * (scale - 32) * (q - 4) with q in 0..7; the sub-block
// step covers its largest value (3 steps up) and its smallest (4 steps down).
void q3_k(const float* x, uint8_t* b) {
  float step[16], max_step = 0;
  for (int j = 0; j < 16; ++j) {
    const float up = std::max(0.0f, *std::max_element(x + 16 * j, x + 16 * j + 16));
    const float down = std::max(0.0f, -*std::min_element(x + 16 * j, x + 16 * j + 16));
    step[j] = std::max(up / 3.0f, down / 4.0f);
    max_step = std::max(max_step, step[j]);
  }
  const uint16_t d16 = f16_at_least(max_step / 31.0f);
  const float d = f16_to_f32(d16);
  std::memset(b, 0, 110);
  int scales[16];
  for (int j = 0; j < 16; ++j) {
    scales[j] = d > 0 ? std::min(31, static_cast<int>(std::ceil(step[j] / d))) : 0;
    const int stored = scales[j] + 32;  // 6 bits: 4 low in bytes 0..7, 2 high in bytes 8..11
    b[96 + j % 8] = static_cast<uint8_t>(b[96 + j % 8] | ((stored & 15) << (4 * (j / 8))));
    b[104 + j % 4] = static_cast<uint8_t>(b[104 + j % 4] | ((stored >> 4) << (2 * (j / 4))));
  }
  for (int v = 0; v < 256; ++v) {
    const int j = 8 * (v / 128) + 2 * ((v % 128) / 32) + (v % 32) / 16;
    const float s = d * static_cast<float>(scales[j]);
    const int q = (s > 0 ? std::clamp(nearest(x[v] / s), -4, 3) : 0) + 4;
    b[32 + two_bit_byte(v)] =
        static_cast<uint8_t>(b[32 + two_bit_byte(v)] | ((q & 3) << two_bit_shift(v)));
    // The high bit: set means "no -4".
    const size_t mask_byte = size_t(16 * ((v % 32) / 16) + v % 16);
    const int mask_bit = 4 * (v / 128) + (v % 128) / 32;
    if (q >> 2) b[mask_byte] = static_cast<uint8_t>(b[mask_byte] | (1 << mask_bit));
  }
  put_half(b + 108, d16);
}

// The step that puts a block's values inside the IQ4 levels (-127 .. 113 steps).
float iq4_step(const float* x, int n) {
  const float up = std::max(0.0f, *std::max_element(x, x + n));
  const float down = std::max(0.0f, -*std::min_element(x, x + n));
  return std::max(up / 113.0f, down / 127.0f);
}

// 32 values as IQ4 level indices (nearest level) in 16 bytes: value j low nibble, j + 16 high.
void iq4_nibbles(const float* x, float step, uint8_t* qs) {
  int q[32];
  for (int i = 0; i < 32; ++i) {
    const float target = step > 0 ? x[i] / step : 0.0f;
    int best = 0;
    for (int k = 1; k < 16; ++k) {
      if (std::fabs(kIq4Levels[k] - target) < std::fabs(kIq4Levels[best] - target)) best = k;
    }
    q[i] = best;
  }
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

void iq4_nl(const float* x, uint8_t* b) {
  const uint16_t d16 = f16_at_least(iq4_step(x, 32));
  put_half(b, d16);
  iq4_nibbles(x, f16_to_f32(d16), b + 2);
}

// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales (offset 32, rounded up) of one f16 d.
void iq4_xs(const float* x, uint8_t* b) {
  float step[8], max_step = 0;
  for (int j = 0; j < 8; ++j) max_step = std::max(max_step, step[j] = iq4_step(x + 32 * j, 32));
  const uint16_t d16 = f16_at_least(max_step / 31.0f);
  const float d = f16_to_f32(d16);
  std::memset(b, 0, 136);
  put_half(b, d16);
  uint16_t scales_high = 0;
  for (int j = 0; j < 8; ++j) {
    const int scale = d > 0 ? std::min(31, static_cast<int>(std::ceil(step[j] / d))) : 0;
    const int ls = scale + 32;
    scales_high = static_cast<uint16_t>(scales_high | ((ls >> 4) << (2 * j)));
    b[4 + j / 2] = static_cast<uint8_t>(b[4 + j / 2] | ((ls & 15) << (4 * (j % 2))));
    iq4_nibbles(x + 32 * j, d * static_cast<float>(scale), b + 8 + 16 * j);
  }
  std::memcpy(b + 2, &scales_high, 2);
}

}  // namespace

// Every block format hearth reads, it can also write.
bool can_encode_block_format(TensorType type) { return is_block_format(type); }

void encode_blocks(TensorType type, const float* values, int64_t count, uint8_t* out) {
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  if (!traits || !can_encode_block_format(type)) {
    throw Error("quantize: cannot write " + tensor_type_name(static_cast<uint32_t>(type)));
  }
  for (int64_t i = 0; i < count; ++i) {
    const float* x = values + i * traits->block_values;
    uint8_t* b = out + static_cast<size_t>(i) * traits->block_bytes;
    switch (type) {
      case TensorType::q4_1:
        q41_q51(false, x, b);
        break;
      case TensorType::q5_1:
        q41_q51(true, x, b);
        break;
      case TensorType::q5_0:
        q50(x, b);
        break;
      case TensorType::q4_K:
        q45_k(false, x, b);
        break;
      case TensorType::q5_K:
        q45_k(true, x, b);
        break;
      case TensorType::q6_K:
        q6_k(x, b);
        break;
      case TensorType::q2_K:
        q2_k(x, b);
        break;
      case TensorType::q3_K:
        q3_k(x, b);
        break;
      case TensorType::iq4_nl:
        iq4_nl(x, b);
        break;
      case TensorType::iq4_xs:
        iq4_xs(x, b);
        break;
      default:
        break;
    }
  }
}

}  // namespace hearth
