// A plain forward pass on the host over the weights as attention plugins see them while they
// transform the model (WeightOverrides), for the calibration service: each layer's attention
// input (after its attention norm) for a run of tokens from position 0. Slow and simple, in
// f32: it runs once per conversion, before the weights reach the device.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/model_config.h"
#include "model/weight_overrides.h"

namespace hearth {

using CalibrationSink = std::function<void(int32_t layer, std::span<const float> rows)>;

// `rows` holds tokens.size() rows of config.dim floats. Throws hearth::Error for a token
// outside the vocabulary.
void calibration_forward(const ModelConfig& config, const WeightOverrides& weights,
                         std::span<const int32_t> tokens, const CalibrationSink& sink);

}  // namespace hearth
