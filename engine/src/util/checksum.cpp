#include "util/checksum.h"

#include <bit>
#include <cstring>

namespace hearth::util {
namespace {

constexpr uint64_t kMultiply = 0x9e3779b97f4a7c15ull;  // odd: multiplication is invertible
constexpr uint64_t kWord = 0xc2b2ae3d27d4eb4full;

uint64_t load(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // little-endian hosts only, as every other file format here
}

uint64_t round(uint64_t lane, uint64_t word) {
  return std::rotl(lane + word * kWord, 31) * kMultiply;
}

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  h *= kMultiply;
  return h ^ (h >> 32);
}

}  // namespace

uint64_t stripe_hash(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t lanes[4] = {kMultiply, kWord, ~kMultiply, ~kWord};
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    for (int l = 0; l < 4; ++l) lanes[l] = round(lanes[l], load(p + i + 8 * l));
  }
  uint64_t h = static_cast<uint64_t>(size) * kMultiply;
  for (int l = 0; l < 4; ++l) h = round(h ^ mix(lanes[l]), lanes[l]);
  for (; i + 8 <= size; i += 8) h = round(h, load(p + i));
  for (; i < size; ++i) h = round(h, p[i] + 1);
  return mix(h);
}

}  // namespace hearth::util
