// Packing of GGUF-layout weights into the kernels' row-group layout, and the scratch buffer
// that holds prepared activations.
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "cpu/kernels/matmul.h"
#include "cpu/kernels/packed_layout.h"
#include "gguf/quant_blocks.h"
#include "hearth/error.h"

namespace hearth::cpu {
namespace {

using layout::kGroupRows;

// Owned storage, zero-filled so padding rows and columns read as 0. Large matrices are
// aligned to 2 MiB and offered to the kernel as transparent huge pages: streaming the
// weights (decode) then takes far fewer TLB misses.
std::shared_ptr<std::byte[]> allocate_zeroed(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t alignment = bytes >= kHugePage ? kHugePage : layout::kAlign;
  const size_t rounded = (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  auto* storage = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
  if (storage == nullptr) throw std::bad_alloc();
  if (alignment == kHugePage) {
    // Huge pages for the whole 2 MiB pieces only: a huge page over the partly used tail would
    // make up to 2 MiB of slack resident for every matrix.
    const size_t whole = bytes / kHugePage * kHugePage;
    madvise(storage, whole, MADV_HUGEPAGE);  // a hint only
    if (rounded > whole) madvise(storage + whole, rounded - whole, MADV_NOHUGEPAGE);
  }
  std::memset(storage, 0, bytes);
  return std::shared_ptr<std::byte[]>(storage, [](std::byte* p) { std::free(p); });
}

size_t source_row_bytes(TensorType type, int64_t cols) {
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  if (!traits)
    throw Error("matmul: unsupported weight type " + tensor_type_name(static_cast<uint32_t>(type)));
  return static_cast<size_t>(cols / traits->block_values) * traits->block_bytes;
}

// Rows of `Element` (float or a 16-bit float) into [group][k][16 rows], or for bf16 into
// [group][k/2][16 rows][2]. Walks each group column by column so writes are sequential.
template <class Element>
void pack_float(bool column_pairs, const std::byte* src, int64_t rows, int64_t cols,
                size_t src_row_bytes, std::byte* dst, size_t group_stride) {
  for (int64_t group = 0; group < layout::group_count(rows); ++group) {
    auto* out = reinterpret_cast<Element*>(dst + static_cast<size_t>(group) * group_stride);
    const int64_t lanes = std::min(kGroupRows, rows - group * kGroupRows);
    const std::byte* first_row = src + static_cast<size_t>(group * kGroupRows) * src_row_bytes;
    for (int64_t k = 0; k < cols; ++k) {
      Element* column =
          column_pairs ? out + (k / 2) * kGroupRows * 2 + k % 2 : out + k * kGroupRows;
      const size_t step = column_pairs ? 2 : 1;
      for (int64_t lane = 0; lane < lanes; ++lane) {
        std::memcpy(column + lane * step,
                    first_row + static_cast<size_t>(lane) * src_row_bytes + k * sizeof(Element),
                    sizeof(Element));
      }
    }
  }
}

// GGUF blocks (f16 scale, Q4_1's f16 min, then quants) into the group layout. A block's
// quants move as 4-byte words: q8_0 word j holds values 4j..4j+3; q4_0/q4_1 word j holds
// values 4j..4j+3 in its low nibbles and 4j+16..4j+19 in its high nibbles, exactly the
// layout's slot j, so nibbles are copied unchanged and q8_0 bytes only get their sign bit
// flipped (q + 128).
void pack_quantized(TensorType type, const std::byte* src, int64_t rows, int64_t cols,
                    size_t src_row_bytes, std::byte* dst, size_t group_stride) {
  const bool nibbles = layout::is_nibbles(type), with_min = layout::has_mins(type);
  const bool fifth = layout::has_fifth_bits(type);
  const size_t block_bytes = tensor_type_traits(static_cast<uint32_t>(type))->block_bytes;
  const size_t high_bits_at = with_min ? 4 : 2;  // Q5_0 / Q5_1: the fifth bits, then quants
  const size_t quants_at = (with_min ? 4 : 2) + (fifth ? 4 : 0);
  const int words = nibbles ? 4 : 8;
  const size_t quant_block_bytes = layout::quant_block_bytes(type);
  const size_t scales_at = layout::scales_offset(type, cols);
  const size_t mins_at = layout::mins_offset(type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t lane = r % kGroupRows;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    const std::byte* row = src + static_cast<size_t>(r) * src_row_bytes;
    for (int64_t b = 0; b < layout::block_count(cols); ++b) {
      const std::byte* block = row + static_cast<size_t>(b) * block_bytes;
      const size_t lane_at = static_cast<size_t>(b * kGroupRows + lane) * 2;
      std::memcpy(group + scales_at + lane_at, block, 2);
      if (with_min) std::memcpy(group + mins_at + lane_at, block + 2, 2);
      std::byte* quants = group + static_cast<size_t>(b) * quant_block_bytes;
      for (int j = 0; j < words; ++j) {
        uint32_t word;
        std::memcpy(&word, block + quants_at + j * 4, 4);
        if (!nibbles) word ^= 0x80808080u;
        std::memcpy(quants + static_cast<size_t>(j * kGroupRows + lane) * 4, &word, 4);
      }
      if (fifth) {
        uint32_t high;
        std::memcpy(&high, block + high_bits_at, 4);
        for (int i = 0; i < 4; ++i) {
          uint8_t plane = 0;
          for (int slot = 0; slot < 4; ++slot) {
            plane = static_cast<uint8_t>(plane | (((high >> (4 * slot + i)) & 1) << slot) |
                                         (((high >> (16 + 4 * slot + i)) & 1) << (4 + slot)));
          }
          quants[layout::kPlanesOffset + static_cast<size_t>(lane * 4 + i)] = std::byte{plane};
        }
      }
    }
  }
}

// Q6_K super-blocks into the q6_K layout: per block of 32, the low nibbles as q4_0 keeps
// them, the top 2 bits in two planes, each half block's int8 sub-scale, and d per row.
void pack_q6_k(const std::byte* src, int64_t rows, int64_t cols, size_t src_row_bytes,
               std::byte* dst, size_t group_stride) {
  const size_t block_bytes = layout::quant_block_bytes(TensorType::q6_K);
  const size_t scales_at = layout::scales_offset(TensorType::q6_K, cols);
  const size_t second_at = layout::mins_offset(TensorType::q6_K, cols);
  const size_t d_at = layout::super_scales_offset(TensorType::q6_K, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t lane = r % kGroupRows;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    const auto* row =
        reinterpret_cast<const uint8_t*>(src + static_cast<size_t>(r) * src_row_bytes);
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
      const uint8_t* b = row + s * 210;
      const uint8_t* ql = b;
      const uint8_t* qh = b + 128;
      const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
      uint16_t d_bits;
      std::memcpy(&d_bits, b + 208, 2);
      std::memcpy(group + d_at + static_cast<size_t>(s * kGroupRows + lane) * 2, &d_bits, 2);
      uint8_t q[256];  // 0..63
      for (int n = 0; n < 256; n += 128) {
        for (int l = 0; l < 32; ++l) {
          const uint8_t h = qh[n / 4 + l];
          q[n + l] = static_cast<uint8_t>((ql[n / 2 + l] & 15) | ((h & 3) << 4));
          q[n + l + 32] = static_cast<uint8_t>((ql[n / 2 + l + 32] & 15) | (((h >> 2) & 3) << 4));
          q[n + l + 64] = static_cast<uint8_t>((ql[n / 2 + l] >> 4) | (((h >> 4) & 3) << 4));
          q[n + l + 96] = static_cast<uint8_t>((ql[n / 2 + l + 32] >> 4) | (((h >> 6) & 3) << 4));
        }
      }
      for (int sub = 0; sub < 8; ++sub) {
        const int64_t block = s * 8 + sub;
        const uint8_t* v = q + 32 * sub;
        std::byte* out = group + static_cast<size_t>(block) * block_bytes;
        for (int slot = 0; slot < 4; ++slot) {
          for (int i = 0; i < 4; ++i) {
            const uint8_t low = v[4 * slot + i], high = v[16 + 4 * slot + i];
            out[static_cast<size_t>((slot * kGroupRows + lane) * 4 + i)] =
                static_cast<std::byte>((low & 15) | ((high & 15) << 4));
            std::byte& plane = out[layout::kPlanesOffset +
                                   static_cast<size_t>(((slot % 2) * kGroupRows + lane) * 4 + i)];
            const int shift = 4 * (slot / 2);
            plane |= static_cast<std::byte>((((low >> 4) & 3) | (((high >> 4) & 3) << 2)) << shift);
          }
        }
        const size_t lane_at = static_cast<size_t>(block * kGroupRows + lane);
        for (int half = 0; half < 2; ++half) {
          group[(half == 0 ? scales_at : second_at) + lane_at] =
              static_cast<std::byte>(sc[2 * sub + half]);
        }
      }
    }
  }
}

// Q2_K super-blocks into the q2_K layout: each sub-block of 16 is a half block, its values
// kept, its scale d * sub-scale and its min -dmin * sub-min as f16.
void pack_q2_k(const std::byte* src, int64_t rows, int64_t cols, size_t src_row_bytes,
               std::byte* dst, size_t group_stride) {
  constexpr size_t kQ2kBytes = 84;  // 16 scale bytes, 64 bytes of 2-bit values, d, dmin
  const size_t block_bytes = layout::quant_block_bytes(TensorType::q2_K);
  const size_t scale_arrays[4] = {layout::scales_offset(TensorType::q2_K, cols),
                                  layout::mins_offset(TensorType::q2_K, cols),
                                  layout::half_mins_offset(TensorType::q2_K, cols),
                                  layout::half_mins_offset(TensorType::q2_K, cols) +
                                      (layout::mins_offset(TensorType::q2_K, cols) -
                                       layout::scales_offset(TensorType::q2_K, cols))};
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t lane = r % kGroupRows;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    const auto* row =
        reinterpret_cast<const uint8_t*>(src + static_cast<size_t>(r) * src_row_bytes);
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
      const uint8_t* b = row + static_cast<size_t>(s) * kQ2kBytes;
      uint16_t bits[2];
      std::memcpy(bits, b + 80, 4);
      const float d = f16_to_f32(bits[0]), dmin = f16_to_f32(bits[1]);
      for (int sub = 0; sub < 16; ++sub) {
        // Sub-block `sub` holds values 16 * sub ..: in Q2_K they sit in bits 2 * shift of 16
        // bytes of one 32-byte run.
        const uint8_t* q = b + 16 + 32 * (sub / 8) + 16 * (sub % 2);
        const int shift = 2 * ((sub % 8) / 2);
        const int64_t block = s * 8 + sub / 2;
        const int half = sub % 2;
        std::byte* out = group + static_cast<size_t>(block) * block_bytes;
        for (int l = 0; l < 16; ++l) {
          const int value = (q[l] >> shift) & 3, slot = l / 4, i = l % 4;
          out[static_cast<size_t>((half * kGroupRows + lane) * 4 + i)] |=
              static_cast<std::byte>(value << (2 * slot));
        }
        const size_t lane_at = static_cast<size_t>(block * kGroupRows + lane) * 2;
        const uint16_t scale = f32_to_f16(d * static_cast<float>(b[sub] & 15));
        const uint16_t min = f32_to_f16(-dmin * static_cast<float>(b[sub] >> 4));
        std::memcpy(group + scale_arrays[half] + lane_at, &scale, 2);
        std::memcpy(group + scale_arrays[2 + half] + lane_at, &min, 2);
      }
    }
  }
}

// Q4_K super-blocks into the q4_K layout: each sub-block of 32 a block of nibbles as q4_0
// holds them, its 6-bit scale and min as bytes, and the super-block's d and -dmin per row.
void pack_q4_k(const std::byte* src, int64_t rows, int64_t cols, size_t src_row_bytes,
               std::byte* dst, size_t group_stride) {
  constexpr size_t kQ4kBytes = 144;  // d, dmin, 12 bytes of scales and mins, 128 of nibbles
  const TensorType type = TensorType::q4_K;
  const size_t block_bytes = layout::quant_block_bytes(type);
  const size_t scales_at = layout::scales_offset(type, cols);
  const size_t mins_at = layout::mins_offset(type, cols);
  const size_t d_at = layout::super_scales_offset(type, cols);
  const size_t dmin_at = layout::super_mins_offset(type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t lane = r % kGroupRows;
    std::byte* group = dst + static_cast<size_t>(r / kGroupRows) * group_stride;
    const auto* row =
        reinterpret_cast<const uint8_t*>(src + static_cast<size_t>(r) * src_row_bytes);
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
      const uint8_t* b = row + static_cast<size_t>(s) * kQ4kBytes;
      uint16_t d, dmin;
      std::memcpy(&d, b, 2);
      std::memcpy(&dmin, b + 2, 2);
      dmin ^= 0x8000;  // -dmin: the sign flipped, exactly
      const size_t super_at = static_cast<size_t>(s * kGroupRows + lane) * 2;
      std::memcpy(group + d_at + super_at, &d, 2);
      std::memcpy(group + dmin_at + super_at, &dmin, 2);
      for (int sub = 0; sub < 8; ++sub) {
        const int64_t block = s * 8 + sub;
        int scale, min;
        q4_k_scale_min(b + 4, sub, scale, min);
        group[scales_at + static_cast<size_t>(block * kGroupRows + lane)] =
            static_cast<std::byte>(scale);
        group[mins_at + static_cast<size_t>(block * kGroupRows + lane)] =
            static_cast<std::byte>(min);
        // Sub-blocks 2c and 2c + 1 are the low and high nibbles of the same 32 bytes.
        const uint8_t* chunk = b + 16 + 32 * (sub / 2);
        const int shift = 4 * (sub % 2);
        std::byte* out = group + static_cast<size_t>(block) * block_bytes;
        for (int slot = 0; slot < 4; ++slot) {
          for (int i = 0; i < 4; ++i) {
            const int low = (chunk[4 * slot + i] >> shift) & 15;
            const int high = (chunk[16 + 4 * slot + i] >> shift) & 15;
            out[static_cast<size_t>((slot * kGroupRows + lane) * 4 + i)] =
                static_cast<std::byte>(low | (high << 4));
          }
        }
      }
    }
  }
}

// Super-block formats that run in the layout of another format: each row rewritten in that
// format, then packed as it.
//   Q5_K as Q5_1: each sub-block of 32 becomes a Q5_1 block (see q5_k_as_q5_1), keeping its
//                 values; only its scale and min are rounded to f16;
//   Q3_K as Q6_K: exactly, its super-blocks rewritten as Q6_K ones;
//   IQ4_XS as IQ4_NL: each sub-block of 32 becomes an IQ4_NL block.
using SuperBlockConversion = void (*)(const uint8_t* superblocks, int64_t count, uint8_t* out);

PackedWeights pack_converted(TensorType from, TensorType to, SuperBlockConversion convert,
                             const std::byte* src, int64_t rows, int64_t cols) {
  if (cols % kSuperBlock != 0) {
    throw Error("matmul: " + tensor_type_name(static_cast<uint32_t>(from)) +
                " weights need a column count that is a multiple of 256, got " +
                std::to_string(cols));
  }
  const size_t in_row = source_row_bytes(from, cols);
  const size_t out_row = source_row_bytes(to, cols);
  std::vector<std::byte> converted(out_row * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    convert(reinterpret_cast<const uint8_t*>(src) + static_cast<size_t>(r) * in_row,
            cols / kSuperBlock,
            reinterpret_cast<uint8_t*>(converted.data()) + static_cast<size_t>(r) * out_row);
  }
  return PackedWeights::pack(to, converted.data(), rows, cols);
}

}  // namespace

PackedWeights PackedWeights::pack(TensorType type, const void* data, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) throw Error("matmul: negative weight shape");
  const auto* bytes = static_cast<const std::byte*>(data);
  if (type == TensorType::q5_K) {
    return pack_converted(type, TensorType::q5_1, q5_k_as_q5_1, bytes, rows, cols);
  }
  if (type == TensorType::q3_K) {
    return pack_converted(type, TensorType::q6_K, q3_k_as_q6_k, bytes, rows, cols);
  }
  if (type == TensorType::iq4_xs) {
    return pack_converted(type, TensorType::iq4_nl, iq4_xs_as_iq4_nl, bytes, rows, cols);
  }
  if (is_block_format(type) && !layout::is_quantized(type)) {
    throw Error("matmul: no kernel layout for " + tensor_type_name(static_cast<uint32_t>(type)) +
                " weights");
  }
  if (layout::is_quantized(type) && cols % kQuantBlock != 0) {
    throw Error("matmul: " + tensor_type_name(static_cast<uint32_t>(type)) + " weights need a " +
                "column count that is a multiple of 32, got " + std::to_string(cols));
  }
  if ((type == TensorType::q6_K || type == TensorType::q2_K || type == TensorType::q4_K) &&
      cols % kSuperBlock != 0) {
    throw Error("matmul: " + tensor_type_name(static_cast<uint32_t>(type)) +
                " weights need a column count that is a multiple of 256, got " +
                std::to_string(cols));
  }
  PackedWeights w;
  w.type_ = type;
  w.rows_ = rows;
  w.cols_ = cols;
  w.row_stride_ = source_row_bytes(type, cols);
  w.group_stride_ = layout::group_bytes(type, cols);
  w.byte_size_ = w.group_stride_ * static_cast<size_t>(layout::group_count(rows));
  w.owned_ = allocate_zeroed(w.byte_size_);
  std::byte* packed = w.owned_.get();
  w.data_ = packed;
  const auto* src = static_cast<const std::byte*>(data);
  if (type == TensorType::q6_K) {
    pack_q6_k(src, rows, cols, w.row_stride_, packed, w.group_stride_);
  } else if (type == TensorType::q2_K) {
    pack_q2_k(src, rows, cols, w.row_stride_, packed, w.group_stride_);
  } else if (type == TensorType::q4_K) {
    pack_q4_k(src, rows, cols, w.row_stride_, packed, w.group_stride_);
  } else if (layout::is_quantized(type)) {
    pack_quantized(type, src, rows, cols, w.row_stride_, packed, w.group_stride_);
  } else if (type == TensorType::f32) {
    pack_float<float>(false, src, rows, cols, w.row_stride_, packed, w.group_stride_);
  } else {
    const bool column_pairs = type == TensorType::bf16;
    pack_float<uint16_t>(column_pairs, src, rows, cols, w.row_stride_, packed, w.group_stride_);
  }
  return w;
}

size_t PackedWeights::byte_size() const { return byte_size_; }

void ActivationBuffer::reserve(TensorType type, int64_t tokens, int64_t cols) {
  if (!tensor_type_traits(static_cast<uint32_t>(type))) {
    throw Error("matmul: unsupported weight type " + tensor_type_name(static_cast<uint32_t>(type)));
  }
  if (tokens < 0 || cols < 0) throw Error("ActivationBuffer: negative size");
  type_ = type;
  tokens_ = tokens;
  cols_ = cols;
  row_stride_ = layout::activation_row_bytes(type, cols);
  const size_t needed = row_stride_ * static_cast<size_t>(std::max<int64_t>(tokens, 1));
  if (needed > capacity_) {
    data_.reset(new std::byte[needed + layout::kAlign]);
    const auto address = reinterpret_cast<uintptr_t>(data_.get());
    aligned_ = data_.get() + (layout::align_up(address) - address);
    capacity_ = needed;
  }
}

}  // namespace hearth::cpu
