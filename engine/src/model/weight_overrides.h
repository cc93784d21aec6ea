// Tensors replaced before the weights reach the device (attention plugins at load time).
// A replacement is f32 and may change a tensor's shape, e.g. fewer KV heads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace hearth {

struct ReplacedTensor {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};

class WeightOverrides {
 public:
  explicit WeightOverrides(const gguf::File& file) : file_(file) {}

  // Shape (rows = output features, cols = input features) of the current version of a
  // 1-D or 2-D tensor. Throws hearth::Error for unknown names.
  void shape(const std::string& name, int64_t& rows, int64_t& cols) const;
  // The current version as f32.
  std::vector<float> read(const std::string& name) const;
  // One row of it (an embedding lookup), without converting the rest.
  std::vector<float> read_row(const std::string& name, int64_t row) const;
  void replace(const std::string& name, std::vector<float> values, int64_t rows, int64_t cols);
  const ReplacedTensor* find(const std::string& name) const;
  bool empty() const { return replaced_.empty(); }

 private:
  const gguf::TensorInfo& tensor(const std::string& name) const;

  const gguf::File& file_;
  std::map<std::string, ReplacedTensor> replaced_;
};

}  // namespace hearth
