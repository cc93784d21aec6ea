// The options of the gqa_retrofit plugin: how many KV heads each layer keeps, by which
// method, and which layers are left as they are.
//
//   [plugins.options]
//   kv_heads = 4            # every layer: 4 KV heads; or "1/4": a quarter of each layer's;
//                           # or a list, one count per layer: [8, 4, 4, 2]
//   method = "mean"         # how a group's heads become one: "mean", "aligned" or
//                           # "aligned_grouped" (see README)
//   calibration = "calibration.txt"   # aligned: text whose activations align the heads
//   calibration_tokens = 256
//   keep_layers = [0, 21]   # layers left untouched
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/plugin.hpp"

namespace gqa_retrofit {

enum class Method { mean, aligned, aligned_grouped };

struct RetrofitOptions {
  // Exactly one of: a count for every layer (kv_heads > 0), a divisor of each layer's count
  // ("1/N": divisor = N), or one count per layer.
  int32_t kv_heads = 0;
  int32_t divisor = 0;
  std::vector<int32_t> per_layer;
  Method method = Method::mean;
  std::vector<int32_t> keep_layers;
  std::string calibration;  // aligned: a text file (relative: to the config's folder)
  int32_t calibration_tokens = 256;
  bool merge = true;  // false: align only, which leaves the model's function as it was
};

// Reads and checks the options; unknown keys and malformed or out-of-range values are refused,
// naming the option.
RetrofitOptions parse_retrofit_options(const hearth::sdk::Options& options,
                                       const std::string& config_dir = "");

// The KV heads each layer ends with, for a model of `layers` layers with `query_heads` query
// heads and `current` KV heads per layer. A count that is not below the layer's (nothing to
// merge) leaves the layer alone, as keep_layers does. Throws, naming the layer and the
// numbers, when a count does not divide the layer's KV heads or its query heads, or the list
// has another length than the model's layers.
std::vector<int32_t> target_kv_heads(const RetrofitOptions& options, int32_t layers,
                                     int32_t query_heads, const std::vector<int32_t>& current);

}  // namespace gqa_retrofit
