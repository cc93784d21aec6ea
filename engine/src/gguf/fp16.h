// Scalar conversions between f32 and the 16-bit float formats stored in model files and KV
// caches. Plain bit manipulation, so they compile and agree on every x86-64 whatever the ISA
// flags.
#pragma once

#include <bit>
#include <cstdint>

// Kernel files built with other instruction-set flags include this header too; each such
// file names its own HEARTH_KERNEL_ISA so the linker never hands their copies of these inline
// functions to baseline code (backends/cpu/kernels/kernel_isa.h explains).
#ifndef HEARTH_KERNEL_ISA
#define HEARTH_KERNEL_ISA isa_generic
#endif

namespace hearth {
inline namespace HEARTH_KERNEL_ISA {

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) {  // inf / nan
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent != 0) {
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal f16: value = mantissa * 2^-24, exact in f32.
  const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

// Round to nearest even, saturating to inf like the F16C instruction.
inline uint16_t f32_to_f16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs_bits = bits & 0x7fffffff;
  if (abs_bits > 0x7f800000) return sign | 0x7e00;   // nan
  if (abs_bits >= 0x477ff000) return sign | 0x7c00;  // rounds to >= 65520: inf
  if (abs_bits >= 0x38800000) {                      // normal f16 range
    const uint32_t rounded = abs_bits + 0xfff + ((abs_bits >> 13) & 1);
    return sign | static_cast<uint16_t>((rounded - 0x38000000) >> 13);
  }
  // Subnormal or zero: scale so the f16 subnormal step (2^-24) becomes 1, round to even.
  const float scaled = std::bit_cast<float>(abs_bits) * 0x1p24f;
  const float nearest = scaled + 0x1p23f - 0x1p23f;  // rounds to integer, ties to even
  return sign | static_cast<uint16_t>(nearest);
}

inline float bf16_to_f32(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

// Round to nearest even; nan stays nan.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 0x40);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

}  // namespace HEARTH_KERNEL_ISA
}  // namespace hearth
