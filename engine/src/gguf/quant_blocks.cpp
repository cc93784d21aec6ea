#include "gguf/quant_blocks.h"

#include <cstring>

#include "gguf/fp16.h"

namespace hearth {
namespace {

float half(const uint8_t* at) {
  uint16_t bits;
  std::memcpy(&bits, at, sizeof bits);
  return f16_to_f32(bits);
}

// Q4_1: f16 d, f16 m, 16 bytes of nibbles; x = d * q + m.
void q4_1(const uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5_0 / Q5_1: the fifth bits of the 32 values in one little-endian 32-bit word.
void q5(bool with_min, const uint8_t* b, float* y) {
  const float d = half(b), m = with_min ? half(b + 2) : 0.0f;
  const uint8_t* at = b + (with_min ? 4 : 2);
  uint32_t high;
  std::memcpy(&high, at, sizeof high);
  const uint8_t* qs = at + 4;
  const int offset = with_min ? 0 : 16;
  for (int j = 0; j < 16; ++j) {
    const int low = (qs[j] & 0x0f) | static_cast<int>(((high >> j) << 4) & 0x10);
    const int up = (qs[j] >> 4) | static_cast<int>((high >> (j + 12)) & 0x10);
    if (with_min) {
      y[j] = static_cast<float>(low) * d + m;
      y[j + 16] = static_cast<float>(up) * d + m;
    } else {
      y[j] = static_cast<float>(low - offset) * d;
      y[j + 16] = static_cast<float>(up - offset) * d;
    }
  }
}

// Q2_K: 16 scale bytes (low nibble scale, high nibble min, of 16 values each), 64 bytes of
// 2-bit quants, f16 d and dmin.
void q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = half(b + 80), dmin = half(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half_block = 0; half_block < 2; ++half_block) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 0x0f);
        const float ml = dmin * static_cast<float>(sc >> 4);
        const uint8_t* qq = q + 16 * half_block;
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((qq[l] >> shift) & 3) - ml;
      }
    }
    q += 32;
  }
}

// Q3_K's 16 signed sub-block scales and its 256 values (-4..3) in order.
void q3_k_values(const uint8_t* b, int8_t* scales, int* values) {
  const uint8_t* hmask = b;
  const uint8_t* q = b + 32;
  const uint8_t* packed = b + 96;
  for (int i = 0; i < 16; ++i) {
    // Low 4 bits from bytes 0..7 (nibble i / 8), high 2 bits from bytes 8..11.
    const int low = (packed[i % 8] >> (4 * (i / 8))) & 0x0f;
    const int up = (packed[8 + i % 4] >> (2 * (i / 4))) & 0x03;
    scales[i] = static_cast<int8_t>((low | (up << 4)) - 32);
  }
  uint8_t mask = 1;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half_block = 0; half_block < 2; ++half_block) {
        const uint8_t* qq = q + 16 * half_block;
        const uint8_t* hm = hmask + 16 * half_block;
        for (int l = 0; l < 16; ++l) {
          *values++ = ((qq[l] >> shift) & 3) - ((hm[l] & mask) ? 0 : 4);
        }
      }
      mask = static_cast<uint8_t>(mask << 1);
    }
    q += 32;
  }
}

// Q3_K: 32 bytes of high-bit masks, 64 bytes of 2-bit quants, 12 bytes of 6-bit scales (16
// of them, offset by 32), f16 d. A value is its two bits minus 4 where its high bit is clear.
void q3_k(const uint8_t* b, float* y) {
  int8_t scales[16];
  int values[256];
  q3_k_values(b, scales, values);
  const float d = half(b + 108);
  for (int i = 0; i < 256; ++i)
    y[i] = d * static_cast<float>(scales[i / 16]) * static_cast<float>(values[i]);
}

// The 6-bit scale and min of sub-block j (0..7) of Q4_K and Q5_K from their 12 bytes.
void scale_min_k4(int j, const uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K / Q5_K: f16 d and dmin, 12 bytes of scales and mins, (Q5_K: 32 bytes of fifth bits),
// 128 bytes of nibbles; x = d * scale * q - dmin * min per sub-block of 32.
void q45_k(bool five, const uint8_t* b, float* y) {
  const float d = half(b), dmin = half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + (five ? 48 : 16);
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    int sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int v = (ql[l] & 0x0f) + (five && (qh[l] & u1) ? 16 : 0);
      *y++ = d1 * static_cast<float>(v) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int v = (ql[l] >> 4) + (five && (qh[l] & u2) ? 16 : 0);
      *y++ = d2 * static_cast<float>(v) - m2;
    }
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales (of 16 values
// each), f16 d; x = d * scale * (q - 32).
void q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void iq4_nl(const uint8_t* b, float* y) {
  const float d = half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIq4Levels[qs[j] & 0x0f]);
    y[j + 16] = d * static_cast<float>(kIq4Levels[qs[j] >> 4]);
  }
}

// IQ4_XS: f16 d, then 6-bit sub-block scales (offset by 32) as 2 high bits in a 16-bit word
// and 4 low bits in 4 bytes, then 8 sub-blocks of IQ4_NL nibbles.
void iq4_xs(const uint8_t* b, float* y) {
  const float d = half(b);
  uint16_t scales_high;
  std::memcpy(&scales_high, b + 2, sizeof scales_high);
  const uint8_t* scales_low = b + 4;
  const uint8_t* qs = b + 8;
  for (int ib = 0; ib < 8; ++ib) {
    const int ls =
        ((scales_low[ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_high >> (2 * ib)) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    for (int j = 0; j < 16; ++j) {
      y[j] = dl * static_cast<float>(kIq4Levels[qs[j] & 0x0f]);
      y[j + 16] = dl * static_cast<float>(kIq4Levels[qs[j] >> 4]);
    }
    y += 32;
    qs += 16;
  }
}

}  // namespace

namespace {

// Q4_K / Q5_K super-blocks as Q4_1 / Q5_1 blocks: the same 4 (and fifth) bits of each value,
// scale = f16(d * sub-block scale), min = f16(-dmin * sub-block min).
void k_quant_as_blocks(bool five, const uint8_t* superblocks, int64_t count, uint8_t* out) {
  const size_t in_bytes = five ? 176 : 144, out_bytes = five ? 24 : 20;
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* b = superblocks + static_cast<size_t>(i) * in_bytes;
    const float d = half(b), dmin = half(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* ql = b + (five ? 48 : 16);
    for (int sub = 0; sub < 8; ++sub, out += out_bytes) {
      int sc, m;
      scale_min_k4(sub, scales, sc, m);
      const uint16_t scale = f32_to_f16(d * static_cast<float>(sc));
      const uint16_t min = f32_to_f16(-(dmin * static_cast<float>(m)));
      std::memcpy(out, &scale, 2);
      std::memcpy(out + 2, &min, 2);
      // Sub-blocks 2c and 2c + 1 are the low and high nibbles of the same 32 bytes (and
      // fifth bits 2c and 2c + 1); Q4_1 / Q5_1 hold values j and j + 16 in the low and high
      // nibble of byte j, and value j's fifth bit in bit j of a 32-bit word.
      const uint8_t* chunk = ql + 32 * (sub / 2);
      const int shift = 4 * (sub % 2);
      int v[32];
      uint32_t high = 0;
      for (int l = 0; l < 32; ++l) {
        v[l] = ((chunk[l] >> shift) & 0x0f) | (five ? ((qh[l] >> sub) & 1) << 4 : 0);
        high |= static_cast<uint32_t>(v[l] >> 4) << l;
      }
      uint8_t* qs = out + 4;
      if (five) {
        std::memcpy(out + 4, &high, 4);
        qs = out + 8;
      }
      for (int j = 0; j < 16; ++j) {
        qs[j] = static_cast<uint8_t>((v[j] & 15) | ((v[j + 16] & 15) << 4));
      }
    }
  }
}

}  // namespace

void q4_k_scale_min(const uint8_t* scales, int sub, int& scale, int& min) {
  scale_min_k4(sub, scales, scale, min);
}

void q5_k_as_q5_1(const uint8_t* superblocks, int64_t count, uint8_t* out) {
  k_quant_as_blocks(true, superblocks, count, out);
}

void write_q6_k(const uint8_t* q, const int8_t* scales, uint16_t d, uint8_t* b) {
  std::memcpy(b + 192, scales, 16);
  std::memcpy(b + 208, &d, 2);
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = q[n + l], q2 = q[n + l + 32], q3 = q[n + l + 64], q4 = q[n + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 15) | ((q4 & 15) << 4));
      qh[l] =
          static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

void q3_k_as_q6_k(const uint8_t* superblocks, int64_t count, uint8_t* out) {
  for (int64_t i = 0; i < count; ++i, out += 210) {
    const uint8_t* b = superblocks + static_cast<size_t>(i) * 110;
    int8_t scales[16];
    int values[256];
    q3_k_values(b, scales, values);
    uint8_t q[256];
    for (int v = 0; v < 256; ++v) q[v] = static_cast<uint8_t>(values[v] + 32);
    uint16_t d;
    std::memcpy(&d, b + 108, 2);
    write_q6_k(q, scales, d, out);
  }
}

void iq4_xs_as_iq4_nl(const uint8_t* superblocks, int64_t count, uint8_t* out) {
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* b = superblocks + i * 136;
    const float d = half(b);
    uint16_t scales_high;
    std::memcpy(&scales_high, b + 2, sizeof scales_high);
    for (int ib = 0; ib < 8; ++ib, out += 18) {
      const int ls =
          ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_high >> (2 * ib)) & 3) << 4);
      const uint16_t scale = f32_to_f16(d * static_cast<float>(ls - 32));
      std::memcpy(out, &scale, 2);
      std::memcpy(out + 2, b + 8 + 16 * ib, 16);
    }
  }
}

bool is_block_format(TensorType type) {
  switch (type) {
    case TensorType::q4_1:
    case TensorType::q5_0:
    case TensorType::q5_1:
    case TensorType::q2_K:
    case TensorType::q3_K:
    case TensorType::q4_K:
    case TensorType::q5_K:
    case TensorType::q6_K:
    case TensorType::iq4_nl:
    case TensorType::iq4_xs:
      return true;
    default:
      return false;
  }
}

void dequantize_blocks(TensorType type, const uint8_t* blocks, int64_t count, size_t block_bytes,
                       int64_t block_values, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* b = blocks + static_cast<size_t>(i) * block_bytes;
    float* y = out + i * block_values;
    switch (type) {
      case TensorType::q4_1:
        q4_1(b, y);
        break;
      case TensorType::q5_0:
        q5(false, b, y);
        break;
      case TensorType::q5_1:
        q5(true, b, y);
        break;
      case TensorType::q2_K:
        q2_k(b, y);
        break;
      case TensorType::q3_K:
        q3_k(b, y);
        break;
      case TensorType::q4_K:
        q45_k(false, b, y);
        break;
      case TensorType::q5_K:
        q45_k(true, b, y);
        break;
      case TensorType::q6_K:
        q6_k(b, y);
        break;
      case TensorType::iq4_nl:
        iq4_nl(b, y);
        break;
      case TensorType::iq4_xs:
        iq4_xs(b, y);
        break;
      default:
        return;
    }
  }
}

}  // namespace hearth
