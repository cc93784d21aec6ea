// hearth: element types of model tensors (numbered as in the GGUF format).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth {

enum class TensorType : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q2_K = 10,
  q3_K = 11,
  q4_K = 12,
  q5_K = 13,
  q6_K = 14,
  iq4_nl = 20,
  iq4_xs = 23,
  bf16 = 30,
};

// Q8_0 and Q4_0 (and Q4_1, Q5_0, Q5_1, IQ4_NL) store blocks of 32 values with their scales.
inline constexpr int64_t kQuantBlock = 32;
// The K-quants and IQ4_XS store super-blocks of 256 values.
inline constexpr int64_t kSuperBlock = 256;

struct TensorTypeTraits {
  std::string_view name;
  int64_t block_values;  // values per storage block
  size_t block_bytes;    // bytes per storage block
};

// Returns the traits of a supported type, or nullopt for any other GGUF type id.
std::optional<TensorTypeTraits> tensor_type_traits(uint32_t type_id);

// Name of any GGUF type id, supported or not ("q4_K", "type 99").
std::string tensor_type_name(uint32_t type_id);

}  // namespace hearth
