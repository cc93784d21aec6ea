// What the plugin host needs from the engine, and nothing more: the host's services reach
// the model description, the tokenizer, the KV cache, the forward pass, the weights being
// loaded and the event stream only through this interface, so the plugin layer never
// depends on how the engine is put together.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "hearth/batch.h"
#include "hearth/plugin.h"

namespace hearth {

class KvCache;
class Tokenizer;
class WeightOverrides;

namespace plugins {

class EngineServices {
 public:
  virtual ~EngineServices() = default;

  virtual const hearth_model_desc& model_desc() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual int32_t max_batch_tokens() const = 0;
  virtual const std::string& model_identity() const = 0;
  virtual const std::string& device_name() const = 0;

  // The KV cache; null until the model is loaded.
  virtual KvCache* kv_cache() = 0;
  // One forward pass (see ForwardPass::run).
  virtual void forward(std::span<const BatchToken> batch, std::vector<float>& logits) = 0;
  // The weights while attention plugins transform them; null afterwards.
  virtual WeightOverrides* weight_overrides() = 0;
  // Sets a layer's KV head count while the weights are being transformed; the caller has
  // checked the layer and that the count divides the query heads.
  virtual void set_layer_kv_heads(int32_t layer, int32_t kv_heads) = 0;

  // Hands an event to every metrics plugin but the one whose host is `from`.
  virtual void emit(const hearth_event& event, const hearth_host* from) = 0;
  // Memory in use now (also what metrics events report).
  virtual hearth_memory_stats memory_stats() const = 0;
  // The model as the weights are now, run over `tokens` on the host: each layer's attention
  // input (tokens x dim floats) to `sink`. Only while attention plugins transform the weights.
  virtual void calibrate(std::span<const int32_t> tokens,
                         const std::function<void(int32_t, std::span<const float>)>& sink) = 0;
  // A plugin's one-time work has done `done` of `total` units of `task`.
  virtual void progress(const std::string& task, int64_t done, int64_t total) = 0;
};

}  // namespace plugins
}  // namespace hearth
