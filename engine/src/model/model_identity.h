// A fingerprint of a loaded model, recorded in saved KV caches so one model's cache is never
// read into another. It covers the shape, every tensor's name, type and dimensions, a sample
// of every tensor's bytes, and load-time changes such as KV head counts.
#pragma once

#include <string>

#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "model/weight_overrides.h"

namespace hearth {

// 16 hex digits.
std::string model_identity(const gguf::File& file, const ModelConfig& config,
                           const WeightOverrides& overrides);

}  // namespace hearth
