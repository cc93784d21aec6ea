// Byte layouts shared by pack(), prepare_activations() and every kernel path.
//
// Weights are stored in groups of kGroupRows consecutive rows (the last group padded with
// zero rows), so one 64-byte vector load covers the same column(s) of 16 rows and each
// kernel step produces 16 outputs at once without horizontal sums:
//   f32   [group][k][16 rows] floats
//   f16   [group][k][16 rows] halves
//   bf16  [group][k/2][16 rows][2]: the two values of a column pair sit in one 32-bit lane,
//         which is what vdpbf16ps multiplies.
//   q8_0  [group]{ quants [block][k/4][16 rows][4] as q+128 (unsigned, for vpdpbusd),
//                  scales [block][16 rows] f16 }
//   q4_0  [group]{ quants [block][k/4 % 4][16 rows][4]: low nibble = column quad k/4,
//                  high nibble = quad k/4 + 4, nibbles as stored in GGUF (0..15),
//                  scales [block][16 rows] f16 }
//   iq4_nl  as q4_0, the nibbles indexing the 16 IQ4 levels (kIq4Levels): weight = scale *
//         level. IQ4_XS's sub-blocks become such blocks too (scale = f16(d * (ls - 32))).
//   q6_K  [group]{ [block]{ nibbles as q4_0 (low: values 0..15, high: 16..31), then two
//                  planes [2][16 rows][4] of the values' top 2 bits: plane p holds slot p in
//                  bits 0-3 (low value, high value) and slot p + 2 in bits 4-7 },
//                  int8 sub-block scales of the first halves [block][16 rows], of the second
//                  halves likewise, then d [super-block][16 rows] f16 }: weight = d * half's
//                  scale * (q - 32), q = 0..63, Q6_K's own values.
//   q5_0, q5_1  [group]{ [block]{ nibbles as q4_0, then one plane [16 rows][4] of the
//         values' fifth bits (bit j: slot j's low value, bit 4 + j: its high value) },
//         scales, and for q5_1 mins, as q4_1 }: weight = scale * (q - 16), or scale * q + min.
//         Q5_K's sub-blocks become q5_1 blocks.
//   q4_1  as q4_0, then mins [block][16 rows] f16: weight = scale * nibble + min. Q4_1
//         files keep their blocks.
//   q4_K  nibbles as q4_0 (each sub-block of 32 a block), then the 6-bit sub-block scales
//         [block][16 rows] u8, the 6-bit mins likewise, d [super-block][16 rows] f16 and
//         -dmin likewise: weight = d * scale * nibble + (-dmin) * min, Q4_K's own values.
//   q2_K  [group]{ [block]{ [2 halves][16 rows][4]: byte i of a row's 4 holds values
//                  half * 16 + 4 * s + i (s = 0..3) in bits 2s..2s+1 }, scales of the first
//                  halves [block][16 rows] f16, of the second halves, then the mins of the
//                  first and of the second halves likewise }: weight = half's scale * q +
//                  half's min, q = 0..3 (each Q2_K sub-block of 16 is one half).
// f32/f16/bf16 matrices are padded to an even column count (zeros), so kernels may step
// over column pairs.
//
// Prepared activations, one row per token:
//   f32         f32[padded cols]
//   f16, bf16   f32[padded cols], then bf16[padded cols] (for the vdpbf16ps prefill path)
//   q8_0, q4_0  int8 quants[cols], then f32 scale[blocks], then int32 bias[blocks] where
//               bias = -offset * sum(quants) and offset is what the weight quants carry
//               (128 for q8_0, 8 for q4_0): starting an accumulator at the bias turns
//               dot(unsigned weight, x) into the signed dot product.
//   q4_1, q5_1, q4_K  the same with bias = +sum(quants) (quant_offset -1): the accumulator starts
//               at 0 and the block's min multiplies the sum. (q5_0: bias -16 * sum.)
//   q6_K        bias[2 * blocks]: -32 * the sum of each half block (16 values), one
//               accumulator per half.
//   q2_K        bias[2 * blocks]: +sum of each half block, for its min (quant_offset -1);
//               the accumulators start at 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu/kernels/kernel_isa.h"
#include "cpu/kernels/matmul.h"
#include "gguf/fp16.h"
#include "gguf/quant_blocks.h"

namespace hearth::cpu::layout {
inline namespace HEARTH_KERNEL_ISA {

inline constexpr int64_t kGroupRows = 16;
// Threads given row ranges on kMatmulRowAlign boundaries then never share a row group (the
// kernels would still be correct, masking their stores, but would compute it twice).
static_assert(kMatmulRowAlign % kGroupRows == 0);
inline constexpr size_t kAlign = 64;

inline constexpr size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

inline bool is_quantized(TensorType type) {
  return type == TensorType::q8_0 || type == TensorType::q4_0 || type == TensorType::q4_1 ||
         type == TensorType::iq4_nl || type == TensorType::q6_K || type == TensorType::q5_0 ||
         type == TensorType::q5_1 || type == TensorType::q2_K || type == TensorType::q4_K;
}

// Layouts with a min per block (weight = scale * q + min).
inline constexpr bool has_mins(TensorType type) {
  return type == TensorType::q4_1 || type == TensorType::q5_1 || type == TensorType::q4_K;
}

// Layouts whose (half) block scales are small integers times a per-super-block f16: q4_K's
// unsigned 6-bit scales and mins, q6_K's signed 8-bit half-block scales.
inline constexpr bool has_super_scales(TensorType type) {
  return type == TensorType::q4_K || type == TensorType::q6_K;
}

// Layouts with a plane of fifth bits over their nibbles.
inline constexpr bool has_fifth_bits(TensorType type) {
  return type == TensorType::q5_0 || type == TensorType::q5_1;
}

// Layouts whose two half blocks of 16 values have scales of their own.
inline constexpr bool has_half_scales(TensorType type) {
  return type == TensorType::q6_K || type == TensorType::q2_K;
}

// Layouts whose half blocks also have mins (weight = half's scale * q + half's min).
inline constexpr bool has_half_mins(TensorType type) { return type == TensorType::q2_K; }

// The 16 levels IQ4_NL and IQ4_XS nibbles stand for (gguf/quant_blocks.h).
using hearth::kIq4Levels;

// Nibble layouts (q4_0, q4_1, iq4_nl, and q6_K's low bits): two values a byte.
inline constexpr bool is_nibbles(TensorType type) {
  return type == TensorType::q4_0 || type == TensorType::q4_1 || type == TensorType::iq4_nl ||
         type == TensorType::q6_K || type == TensorType::q5_0 || type == TensorType::q5_1 ||
         type == TensorType::q4_K;
}

inline int64_t group_count(int64_t rows) { return (rows + kGroupRows - 1) / kGroupRows; }

// Columns as stored: quantized types keep theirs (whole blocks), float types round up to even.
inline int64_t padded_cols(TensorType type, int64_t cols) {
  return is_quantized(type) ? cols : (cols + 1) / 2 * 2;
}

inline int64_t block_count(int64_t cols) { return cols / kQuantBlock; }

// Quant bytes of one block of one group (16 rows x 32 values).
inline constexpr size_t quant_block_bytes(TensorType type) {
  if (type == TensorType::q6_K) return kGroupRows * kQuantBlock * 3 / 4;  // nibbles + planes
  if (type == TensorType::q2_K) return kGroupRows * kQuantBlock / 4;      // 2 bits a value
  if (has_fifth_bits(type)) return kGroupRows * kQuantBlock * 5 / 8;      // nibbles + plane
  return is_nibbles(type) ? kGroupRows * kQuantBlock / 2 : kGroupRows * kQuantBlock;
}

// Offset of q6_K's 2-bit planes inside one block's bytes.
inline constexpr size_t kPlanesOffset = kGroupRows * kQuantBlock / 2;

// Offset of the f16 scale array inside a quantized group.
inline size_t scales_offset(TensorType type, int64_t cols) {
  return align_up(static_cast<size_t>(block_count(cols)) * quant_block_bytes(type));
}

// Bytes of one [block][16 rows] array of scales or mins: f16, or bytes for q4_K and q6_K.
inline size_t scale_array_bytes(TensorType type, int64_t cols) {
  const size_t element = has_super_scales(type) ? 1 : sizeof(uint16_t);
  return align_up(static_cast<size_t>(block_count(cols)) * kGroupRows * element);
}

// Offset of the min array of a q4_1 group (q6_K: its second halves' scales), after its
// scales.
inline size_t mins_offset(TensorType type, int64_t cols) {
  return scales_offset(type, cols) + scale_array_bytes(type, cols);
}

// q4_K, q6_K: offset of the d array [super-block][16 rows] f16, after the two arrays of
// scales (q4_K: scales and mins); q4_K's -dmin follows it.
inline size_t super_scales_offset(TensorType type, int64_t cols) {
  return mins_offset(type, cols) + scale_array_bytes(type, cols);
}
inline size_t super_array_bytes(int64_t cols) {
  return align_up(static_cast<size_t>(cols / kSuperBlock) * kGroupRows * sizeof(uint16_t));
}
inline size_t super_mins_offset(TensorType type, int64_t cols) {
  return super_scales_offset(type, cols) + super_array_bytes(cols);
}

// Offset of q2_K's mins of the first halves, after its two scale arrays (the second halves'
// mins follow).
inline size_t half_mins_offset(TensorType type, int64_t cols) {
  return mins_offset(type, cols) + scale_array_bytes(type, cols);
}

inline size_t group_bytes(TensorType type, int64_t cols) {
  const auto k = static_cast<size_t>(padded_cols(type, cols));
  switch (type) {
    case TensorType::f32:
      return k * kGroupRows * sizeof(float);
    case TensorType::f16:
    case TensorType::bf16:
      return k * kGroupRows * sizeof(uint16_t);
    case TensorType::q8_0:
    case TensorType::q4_0:
    case TensorType::iq4_nl:
    case TensorType::q5_0:
      return mins_offset(type, cols);
    case TensorType::q4_1:
    case TensorType::q5_1:
    case TensorType::q6_K:
      return super_scales_offset(type, cols) + super_array_bytes(cols);
    case TensorType::q4_K:
      return super_mins_offset(type, cols) + super_array_bytes(cols);
    case TensorType::q2_K:
      return half_mins_offset(type, cols) +
             2 * align_up(static_cast<size_t>(block_count(cols)) * kGroupRows * sizeof(uint16_t));
    default:
      return 0;
  }
}

// Byte offset of weight (row % 16, k) inside its group, for the one-element accessors below.
inline size_t float_element_offset(TensorType type, int64_t lane, int64_t k) {
  switch (type) {
    case TensorType::f32:
      return static_cast<size_t>(k * kGroupRows + lane) * sizeof(float);
    case TensorType::f16:
      return static_cast<size_t>(k * kGroupRows + lane) * sizeof(uint16_t);
    default:  // bf16 column pairs
      return static_cast<size_t>((k / 2) * kGroupRows * 2 + lane * 2 + k % 2) * sizeof(uint16_t);
  }
}

inline size_t quant_byte_offset(TensorType type, int64_t lane, int64_t k) {
  const int64_t block = k / kQuantBlock, quad = (k % kQuantBlock) / 4, within = k % 4;
  const int64_t slot = is_nibbles(type) ? quad % 4 : quad;
  return static_cast<size_t>(block) * quant_block_bytes(type) +
         static_cast<size_t>((slot * kGroupRows + lane) * 4 + within);
}

inline size_t scale_offset(TensorType type, int64_t cols, int64_t lane, int64_t block) {
  return scales_offset(type, cols) +
         static_cast<size_t>(block * kGroupRows + lane) * sizeof(uint16_t);
}

inline const std::byte* group_data(const PackedWeights& w, int64_t group) {
  return w.data() + static_cast<size_t>(group) * w.group_stride();
}

// Weight (row, k) of a packed f32/f16/bf16 matrix.
inline float float_weight(const PackedWeights& w, int64_t row, int64_t k) {
  const std::byte* p =
      group_data(w, row / kGroupRows) + float_element_offset(w.type(), row % kGroupRows, k);
  if (w.type() == TensorType::f32) return *reinterpret_cast<const float*>(p);
  const uint16_t bits = *reinterpret_cast<const uint16_t*>(p);
  return w.type() == TensorType::f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
}

// Quant (row, k) of a packed matrix: signed for q8_0 (-128..127) and q4_0 (-8..7), the
// nibble (0..15) for q4_1, the level (-127..113) for iq4_nl.
inline int quant_weight(const PackedWeights& w, int64_t row, int64_t k) {
  if (w.type() == TensorType::q2_K) {
    const int64_t half = (k % kQuantBlock) / 16, slot = (k % 16) / 4;
    const auto byte = static_cast<uint8_t>(group_data(
        w,
        row / kGroupRows)[static_cast<size_t>(k / kQuantBlock) * quant_block_bytes(w.type()) +
                          static_cast<size_t>((half * kGroupRows + row % kGroupRows) * 4 + k % 4)]);
    return (byte >> (2 * slot)) & 3;
  }
  const auto byte = static_cast<uint8_t>(
      group_data(w, row / kGroupRows)[quant_byte_offset(w.type(), row % kGroupRows, k)]);
  if (w.type() == TensorType::q8_0) return static_cast<int>(byte) - 128;
  const bool high = (k % kQuantBlock) / 4 >= 4;
  const int nibble = high ? byte >> 4 : byte & 0x0f;
  if (w.type() == TensorType::iq4_nl) return kIq4Levels[nibble];
  if (w.type() == TensorType::q6_K) {
    const int64_t quad = (k % kQuantBlock) / 4 % 4;
    const auto plane = static_cast<uint8_t>(
        group_data(w, row / kGroupRows)
            [static_cast<size_t>(k / kQuantBlock) * quant_block_bytes(w.type()) + kPlanesOffset +
             static_cast<size_t>(((quad % 2) * kGroupRows + row % kGroupRows) * 4 + k % 4)]);
    const int top = (plane >> (4 * (quad / 2) + (high ? 2 : 0))) & 3;
    return (nibble | (top << 4)) - 32;
  }
  if (has_fifth_bits(w.type())) {
    const int64_t quad = (k % kQuantBlock) / 4 % 4;
    const auto plane = static_cast<uint8_t>(group_data(
        w, row / kGroupRows)[static_cast<size_t>(k / kQuantBlock) * quant_block_bytes(w.type()) +
                             kPlanesOffset + static_cast<size_t>((row % kGroupRows) * 4 + k % 4)]);
    const int q = nibble | (((plane >> (quad + (high ? 4 : 0))) & 1) << 4);
    return w.type() == TensorType::q5_1 ? q : q - 16;
  }
  return has_mins(w.type()) ? nibble : nibble - 8;
}

// q4_K: the f16 at `array` (d or -dmin) of a row's super-block times its u8 at `small` (the
// block's scale or min).
inline float super_scaled(const PackedWeights& w, int64_t row, int64_t block, size_t array,
                          size_t small) {
  const std::byte* group = group_data(w, row / kGroupRows);
  const int64_t lane = row % kGroupRows;
  const auto factor =
      static_cast<uint8_t>(group[small + static_cast<size_t>(block * kGroupRows + lane)]);
  uint16_t bits;
  std::memcpy(&bits,
              group + array +
                  static_cast<size_t>((block * kQuantBlock / kSuperBlock) * kGroupRows + lane) * 2,
              2);
  return f16_to_f32(bits) * static_cast<float>(factor);
}

inline float quant_scale(const PackedWeights& w, int64_t row, int64_t block) {
  if (has_super_scales(w.type())) {
    return super_scaled(w, row, block, super_scales_offset(w.type(), w.cols()),
                        scales_offset(w.type(), w.cols()));
  }
  const std::byte* p =
      group_data(w, row / kGroupRows) + scale_offset(w.type(), w.cols(), row % kGroupRows, block);
  return f16_to_f32(*reinterpret_cast<const uint16_t*>(p));
}

// q6_K, q2_K: the scale of the half (0: values 0..15, 1: 16..31) of a block.
inline float half_scale(const PackedWeights& w, int64_t row, int64_t block, int half) {
  if (has_super_scales(w.type())) {  // q6_K: d * the int8 sub-block scale
    const std::byte* group = group_data(w, row / kGroupRows);
    const int64_t lane = row % kGroupRows;
    const size_t at =
        (half == 0 ? scales_offset(w.type(), w.cols()) : mins_offset(w.type(), w.cols())) +
        static_cast<size_t>(block * kGroupRows + lane);
    uint16_t bits;
    std::memcpy(
        &bits,
        group + super_scales_offset(w.type(), w.cols()) +
            static_cast<size_t>((block * kQuantBlock / kSuperBlock) * kGroupRows + lane) * 2,
        2);
    return f16_to_f32(bits) * static_cast<float>(static_cast<int8_t>(group[at]));
  }
  const size_t at =
      (half == 0 ? scales_offset(w.type(), w.cols()) : mins_offset(w.type(), w.cols())) +
      static_cast<size_t>(block * kGroupRows + row % kGroupRows) * 2;
  return f16_to_f32(*reinterpret_cast<const uint16_t*>(group_data(w, row / kGroupRows) + at));
}

// q2_K: the min of the half of a block.
inline float half_min(const PackedWeights& w, int64_t row, int64_t block, int half) {
  const size_t array = align_up(static_cast<size_t>(block_count(w.cols())) * kGroupRows * 2);
  const size_t at = half_mins_offset(w.type(), w.cols()) + static_cast<size_t>(half) * array +
                    static_cast<size_t>(block * kGroupRows + row % kGroupRows) * 2;
  return f16_to_f32(*reinterpret_cast<const uint16_t*>(group_data(w, row / kGroupRows) + at));
}

inline float quant_min(const PackedWeights& w, int64_t row, int64_t block) {
  if (has_super_scales(w.type())) {
    return super_scaled(w, row, block, super_mins_offset(w.type(), w.cols()),
                        mins_offset(w.type(), w.cols()));
  }
  const std::byte* p = group_data(w, row / kGroupRows) + mins_offset(w.type(), w.cols()) +
                       static_cast<size_t>(block * kGroupRows + row % kGroupRows) * 2;
  return f16_to_f32(*reinterpret_cast<const uint16_t*>(p));
}

// Offset the packed quants carry relative to the signed value; -1 for q4_1, whose prepared
// activations carry +sum(quants) for its mins.
inline int quant_offset(TensorType type) {
  if (type == TensorType::q8_0 || type == TensorType::iq4_nl) return 128;  // u8 = level + 128
  if (type == TensorType::q6_K) return 32;
  if (type == TensorType::q5_0) return 16;
  return has_mins(type) || has_half_mins(type) ? -1 : 8;
}

// --- prepared activations ---

inline size_t float_activation_bytes(TensorType type, int64_t cols) {
  return align_up(static_cast<size_t>(padded_cols(type, cols)) * sizeof(float));
}

inline size_t activation_row_bytes(TensorType type, int64_t cols) {
  const auto k = static_cast<size_t>(padded_cols(type, cols));
  switch (type) {
    case TensorType::f32:
      return float_activation_bytes(type, cols);
    case TensorType::f16:
    case TensorType::bf16:
      return float_activation_bytes(type, cols) + align_up(k * sizeof(uint16_t));
    case TensorType::q8_0:
    case TensorType::q4_0:
    case TensorType::q4_1:
    case TensorType::q4_K:
    case TensorType::q5_0:
    case TensorType::q5_1:
    case TensorType::iq4_nl: {
      const auto blocks = static_cast<size_t>(block_count(cols));
      return align_up(k) + 2 * align_up(blocks * sizeof(float));
    }
    case TensorType::q6_K:
    case TensorType::q2_K: {  // a bias per half block
      const auto blocks = static_cast<size_t>(block_count(cols));
      return align_up(k) + align_up(blocks * sizeof(float)) +
             align_up(2 * blocks * sizeof(int32_t));
    }
    default:
      return 0;
  }
}

// Views of one prepared token row; the const overloads are for the kernels, the others for
// the code that fills the row.
struct QuantActivationRow {
  const int8_t* quants;
  const float* scales;
  const int32_t* biases;
};

struct MutableQuantActivationRow {
  int8_t* quants;
  float* scales;
  int32_t* biases;
};

inline size_t quant_activation_scales_offset(int64_t cols) {
  return align_up(static_cast<size_t>(cols));
}

inline size_t quant_activation_biases_offset(int64_t cols) {
  return quant_activation_scales_offset(cols) +
         align_up(static_cast<size_t>(block_count(cols)) * sizeof(float));
}

inline QuantActivationRow quant_activation_row(const std::byte* row, int64_t cols) {
  return {reinterpret_cast<const int8_t*>(row),
          reinterpret_cast<const float*>(row + quant_activation_scales_offset(cols)),
          reinterpret_cast<const int32_t*>(row + quant_activation_biases_offset(cols))};
}

inline MutableQuantActivationRow quant_activation_row(std::byte* row, int64_t cols) {
  return {reinterpret_cast<int8_t*>(row),
          reinterpret_cast<float*>(row + quant_activation_scales_offset(cols)),
          reinterpret_cast<int32_t*>(row + quant_activation_biases_offset(cols))};
}

inline const uint16_t* bf16_activations(const std::byte* row, TensorType type, int64_t cols) {
  return reinterpret_cast<const uint16_t*>(row + float_activation_bytes(type, cols));
}

inline uint16_t* bf16_activations(std::byte* row, TensorType type, int64_t cols) {
  return reinterpret_cast<uint16_t*>(row + float_activation_bytes(type, cols));
}

}  // namespace HEARTH_KERNEL_ISA
}  // namespace hearth::cpu::layout
