// hearth: converting a model file's matrices to another weight format (`hearth quantize`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hearth {

struct QuantizeOptions {
  std::string input, output;  // GGUF files; the output is written whole, then moved into place
  // A type (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, iq4_nl, iq4_xs, q4_K,
  // q5_K, q6_K) or a mixture
  // (q4_K_M, q4_K_S, q5_K_M, q5_K_S): the base type with the exceptions those use.
  std::string type;
  bool pure = false;  // every matrix in the base type: no exceptions
  int threads = 0;    // 0 = every core
  std::function<void(int64_t done, int64_t total)> on_progress;  // tensors written so far
};

struct QuantizeStats {
  int64_t tensors = 0;                         // in the file
  int64_t converted = 0;                       // matrices written in a new type
  uint64_t input_bytes = 0, output_bytes = 0;  // tensor data
  double seconds = 0;
  std::map<std::string, int64_t> tensors_per_type;  // of the output
};

// The names `type` accepts.
std::vector<std::string> quantize_type_names();

// Converts every 2-D weight of a float (F32, F16, BF16) model to the requested type; norms
// and other 1-D tensors stay as they are. Throws hearth::Error naming the file, tensor or
// type when the input is not a float model or the type is unknown.
QuantizeStats quantize_model(const QuantizeOptions& options);

}  // namespace hearth
