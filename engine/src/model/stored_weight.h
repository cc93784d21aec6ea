// The form a replaced weight is kept in, on the device and in a written model file: the type
// the file held the tensor in where it can be written back (f16, bf16, Q8_0, Q4_0), else f32.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/weight_overrides.h"

namespace hearth {

struct StoredWeight {
  TensorType type = TensorType::f32;
  std::vector<uint8_t> bytes;  // rows of the type's layout
};

// `original` is the file's tensor of that name (null when the file has none).
StoredWeight store_like(const gguf::TensorInfo* original, const ReplacedTensor& replaced);

}  // namespace hearth
