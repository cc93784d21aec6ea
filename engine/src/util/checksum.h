// Checksums for file integrity and model identity (not a defence against deliberate
// tampering): FNV-1a, 64-bit, byte by byte, for small inputs and the formats that already use
// it; and StripeHash for bulk payloads, which reads 32 bytes per round in four independent
// lanes and so keeps up with memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::util {

class Fnv1a {
 public:
  void update(const void* data, size_t size) {
    auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ bytes[i]) * 0x100000001b3ull;
  }
  template <typename T>
  void update_value(const T& value) {
    update(&value, sizeof(value));
  }
  uint64_t digest() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

// A 64-bit hash of a whole buffer. Every round (add the word times a constant, rotate,
// multiply by an odd constant) is a bijection of its lane, so one flipped bit always changes
// that lane; the lanes, the length and the tail are then mixed into the digest.
uint64_t stripe_hash(const void* data, size_t size);

}  // namespace hearth::util
