// exp() for loops over every token of a vocabulary or every element of a row. The C library's
// exp does not vectorise, and it dominates such loops (softmax over 32,000 logits per beam, the
// engine's own attention softmax and SwiGLU). This is Cephes' expf: range reduction by ln 2, a
// degree-5 polynomial, and the exponent put in by bit arithmetic; within 2 ulp of expf over the
// clamped range. Header-only: it adds nothing to the plugin ABI.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hearth::sdk {

// Below -87 the result would be subnormal and is flushed to ~1e-38; above 88 it saturates at
// ~1.6e38 instead of overflowing, so x / (1 + exp(-x)) stays finite.
inline float fast_exp(float v) {
  const float x = std::clamp(v, -87.0f, 88.0f);
  const float k = std::nearbyint(x * 1.44269504088896341f);
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // Over the clamped range k is within [-126, 127], so k + 127 is a valid biased exponent.
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace hearth::sdk
