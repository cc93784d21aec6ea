// FNV-1a, 64-bit: a small, dependency-free checksum for file integrity and model identity
// (not a defence against deliberate tampering).
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

}  // namespace hearth::util
