#include "retrofit_options.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <string_view>

namespace gqa_retrofit {
namespace {

using hearth::sdk::Error;

Error invalid(const std::string& message) {
  return Error(HEARTH_ERROR_INVALID_ARGUMENT, "gqa_retrofit: " + message);
}

constexpr int32_t kMaxHeads = 1 << 16;
constexpr int32_t kMaxLayers = 1 << 16;

// A comma-separated list of integers in [min, max]; `option` names it in errors.
std::vector<int32_t> integers(const std::string& text, const std::string& option, int32_t min,
                              int32_t max) {
  std::vector<int32_t> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    const std::string_view item(text.data() + begin, comma - begin);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < min ||
        value > max) {
      throw invalid("option '" + option + "': '" + std::string(item) + "' is not a whole number " +
                    "from " + std::to_string(min) + " to " + std::to_string(max));
    }
    if (out.size() >= static_cast<size_t>(kMaxLayers)) {
      throw invalid("option '" + option + "' lists more than " + std::to_string(kMaxLayers) +
                    " values");
    }
    out.push_back(static_cast<int32_t>(value));
    begin = comma + 1;
  }
  return out;
}

}  // namespace

RetrofitOptions parse_retrofit_options(const hearth::sdk::Options& options,
                                       const std::string& config_dir) {
  RetrofitOptions o;
  const std::string heads = options.require_string("kv_heads");
  if (heads.rfind("1/", 0) == 0) {
    o.divisor = integers(heads.substr(2), "kv_heads", 2, kMaxHeads).front();
    if (heads.find(',') != std::string::npos) {
      throw invalid("option 'kv_heads': a ratio is one value, such as \"1/4\"");
    }
  } else {
    std::vector<int32_t> counts = integers(heads, "kv_heads", 1, kMaxHeads);
    if (counts.size() == 1) {
      o.kv_heads = counts.front();
    } else {
      o.per_layer = std::move(counts);
    }
  }
  const std::string method = options.get_string("method", "mean");
  if (method == "mean") {
    o.method = Method::mean;
  } else if (method == "aligned") {
    o.method = Method::aligned;
  } else if (method == "aligned_grouped") {
    o.method = Method::aligned_grouped;
  } else {
    throw invalid("option 'method' must be \"mean\", \"aligned\" or \"aligned_grouped\", not '" +
                  method + "'");
  }
  o.calibration = options.get_string("calibration", "");
  if (!o.calibration.empty() && !config_dir.empty() &&
      std::filesystem::path(o.calibration).is_relative()) {
    o.calibration = (std::filesystem::path(config_dir) / o.calibration).lexically_normal().string();
  }
  o.calibration_tokens =
      static_cast<int32_t>(options.get_int("calibration_tokens", 256, 16, 1 << 20));
  o.merge = options.get_bool("merge", true);
  if (o.method != Method::mean && o.calibration.empty()) {
    throw invalid("method \"" + method +
                  "\" needs option 'calibration': a text file whose activations align the heads");
  }
  // Options that would do nothing under "mean" are refused rather than ignored.
  for (const char* key : {"calibration", "calibration_tokens"}) {
    if (o.method == Method::mean && options.has(key)) {
      throw invalid("option '" + std::string(key) +
                    "' is for the aligned methods; \"mean\" uses no calibration");
    }
  }
  if (o.method == Method::mean && !o.merge) {
    throw invalid("option 'merge' = false only aligns heads; \"mean\" has nothing to align");
  }
  if (options.has("keep_layers")) {
    const std::string keep = options.require_string("keep_layers");
    if (!keep.empty()) o.keep_layers = integers(keep, "keep_layers", 0, kMaxLayers - 1);
  }
  options.check_all_used();
  return o;
}

std::vector<int32_t> target_kv_heads(const RetrofitOptions& o, int32_t layers, int32_t query_heads,
                                     const std::vector<int32_t>& current) {
  if (!o.per_layer.empty() && o.per_layer.size() != static_cast<size_t>(layers)) {
    throw invalid("option 'kv_heads' lists " + std::to_string(o.per_layer.size()) +
                  " counts; the model has " + std::to_string(layers) + " layers");
  }
  for (int32_t layer : o.keep_layers) {
    if (layer >= layers) {
      throw invalid("option 'keep_layers' names layer " + std::to_string(layer) +
                    "; the model has layers 0 to " + std::to_string(layers - 1));
    }
  }
  std::vector<int32_t> target(current);
  for (int32_t layer = 0; layer < layers; ++layer) {
    if (std::count(o.keep_layers.begin(), o.keep_layers.end(), layer)) continue;
    const int32_t have = current[static_cast<size_t>(layer)];
    int32_t want = o.kv_heads;
    if (o.divisor > 0) {
      if (have % o.divisor != 0) {
        throw invalid("kv_heads = \"1/" + std::to_string(o.divisor) + "\": layer " +
                      std::to_string(layer) + " has " + std::to_string(have) +
                      " KV heads, which that does not divide");
      }
      want = have / o.divisor;
    }
    if (!o.per_layer.empty()) want = o.per_layer[static_cast<size_t>(layer)];
    if (want >= have) continue;  // nothing to merge
    if (have % want != 0 || query_heads % want != 0) {
      throw invalid("layer " + std::to_string(layer) + " cannot go from " + std::to_string(have) +
                    " to " + std::to_string(want) +
                    " KV heads: the count must divide its KV heads (" + std::to_string(have) +
                    ") and query heads (" + std::to_string(query_heads) + ")");
    }
    target[static_cast<size_t>(layer)] = want;
  }
  return target;
}

}  // namespace gqa_retrofit
