#include "model/weight_overrides.h"

#include <algorithm>

#include "gguf/dequantize.h"
#include "hearth/error.h"

namespace hearth {

const gguf::TensorInfo& WeightOverrides::tensor(const std::string& name) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (!t) throw Error("weights: no tensor named '" + name + "'");
  if (t->dims.size() > 2) throw Error("weights: tensor '" + name + "' has more than 2 dimensions");
  gguf::File::require_supported(file_, *t);
  return *t;
}

void WeightOverrides::shape(const std::string& name, int64_t& rows, int64_t& cols) const {
  if (const ReplacedTensor* r = find(name)) {
    rows = r->rows, cols = r->cols;
    return;
  }
  const auto& t = tensor(name);
  cols = t.dims[0];
  rows = t.dims.size() > 1 ? t.dims[1] : 1;
}

std::vector<float> WeightOverrides::read(const std::string& name) const {
  if (const ReplacedTensor* r = find(name)) return r->values;
  const auto& t = tensor(name);
  const int64_t cols = t.dims[0], rows = t.dims.size() > 1 ? t.dims[1] : 1;
  const size_t row_bytes = t.byte_size / static_cast<size_t>(rows);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(t.type(), t.data + r * row_bytes, cols, values.data() + r * cols);
  }
  return values;
}

std::vector<float> WeightOverrides::read_row(const std::string& name, int64_t row) const {
  int64_t rows = 0, cols = 0;
  shape(name, rows, cols);
  if (row < 0 || row >= rows) {
    throw Error("weights: row " + std::to_string(row) + " of '" + name + "', which has " +
                std::to_string(rows));
  }
  std::vector<float> values(static_cast<size_t>(cols));
  if (const ReplacedTensor* r = find(name)) {
    std::copy_n(r->values.begin() + row * cols, cols, values.begin());
    return values;
  }
  const auto& t = tensor(name);
  const size_t row_bytes = t.byte_size / static_cast<size_t>(rows);
  dequantize_row(t.type(), t.data + row * row_bytes, cols, values.data());
  return values;
}

void WeightOverrides::replace(const std::string& name, std::vector<float> values, int64_t rows,
                              int64_t cols) {
  tensor(name);  // must exist in the model
  if (rows <= 0 || cols <= 0 || values.size() != static_cast<size_t>(rows * cols)) {
    throw Error("weights: replacement for '" + name + "' has " + std::to_string(values.size()) +
                " values, not " + std::to_string(rows) + " x " + std::to_string(cols));
  }
  replaced_[name] = {rows, cols, std::move(values)};
}

const ReplacedTensor* WeightOverrides::find(const std::string& name) const {
  auto it = replaced_.find(name);
  return it == replaced_.end() ? nullptr : &it->second;
}

}  // namespace hearth
