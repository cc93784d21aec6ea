// gqa_retrofit: converts a multi-head-attention model to grouped-query attention at load.
// Each layer's KV heads are merged in groups of consecutive heads (their K and V projections
// averaged, Ainslie et al. 2023); the query heads stay, each reading its group's merged head.
// The KV cache and the kernels follow the new head counts, so every cached token costs
// (old heads / new heads) times less.
#include <string>
#include <vector>

#include "head_merge.h"
#include "hearth/plugin.hpp"
#include "retrofit_options.h"

namespace gqa_retrofit {
namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

class GqaRetrofit : public hearth::sdk::AttentionPlugin {
 public:
  GqaRetrofit(Host host, const Options& options)
      : AttentionPlugin(host, options), options_(parse_retrofit_options(options)) {}

  void transform() override {
    const double started = host().now();
    const hearth_model_desc& model = host().model();
    std::vector<int32_t> current(model.layer_kv_heads, model.layer_kv_heads + model.layers);
    // Every count is checked before any weight changes, so a refusal leaves the model whole.
    const std::vector<int32_t> target =
        target_kv_heads(options_, model.layers, model.heads, current);
    int32_t merged_layers = 0;
    for (int32_t layer = 0; layer < model.layers; ++layer) {
      const int32_t heads = current[static_cast<size_t>(layer)];
      const int32_t groups = target[static_cast<size_t>(layer)];
      if (groups == heads) continue;
      const std::string prefix = "blk." + std::to_string(layer) + ".";
      for (const char* tensor : {"attn_k.weight", "attn_v.weight"}) {
        merge(prefix + tensor, heads, groups, model.head_dim, model.dim);
      }
      for (const char* tensor : {"attn_k.bias", "attn_v.bias"}) {
        merge_bias(prefix + tensor, heads, groups, model.head_dim);
      }
      host().set_layer_kv_heads(layer, groups);
      ++merged_layers;
    }
    hearth_event event{};
    event.type = HEARTH_EVENT_METHOD_OVERHEAD;
    event.time_seconds = host().now();
    event.elapsed_seconds = event.time_seconds - started;
    event.token = -1;
    host().emit(event);
    host().log(HEARTH_LOG_INFO, "merged the KV heads of " + std::to_string(merged_layers) + " of " +
                                    std::to_string(model.layers) + " layers (mean) in " +
                                    std::to_string(event.elapsed_seconds) + " s");
  }

 private:
  void merge(const std::string& name, int32_t heads, int32_t groups, int32_t head_dim,
             int32_t dim) const {
    const hearth::sdk::Shape shape = host().weight_shape(name);
    if (shape.rows != static_cast<int64_t>(heads) * head_dim || shape.cols != dim) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                  "gqa_retrofit: " + name + " is " + std::to_string(shape.rows) + " x " +
                      std::to_string(shape.cols) + ", not (KV heads " + std::to_string(heads) +
                      " x head_dim " + std::to_string(head_dim) + ") x dim " + std::to_string(dim));
    }
    host().replace_weight(name,
                          mean_merge(host().read_weight(name), heads, head_dim, shape.cols, groups),
                          static_cast<int64_t>(groups) * head_dim, shape.cols);
  }

  // Models with biases on K and V (Qwen2) carry one value per KV head row; they are merged
  // like the rows they belong to. Most models have none.
  void merge_bias(const std::string& name, int32_t heads, int32_t groups, int32_t head_dim) const {
    hearth::sdk::Shape shape;
    try {
      shape = host().weight_shape(name);
    } catch (const Error&) {
      return;  // no such tensor
    }
    if (shape.rows * shape.cols != static_cast<int64_t>(heads) * head_dim) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                  "gqa_retrofit: " + name + " holds " + std::to_string(shape.rows * shape.cols) +
                      " values, not KV heads " + std::to_string(heads) + " x head_dim " +
                      std::to_string(head_dim));
    }
    host().replace_weight(name, mean_merge(host().read_weight(name), heads, head_dim, 1, groups), 1,
                          static_cast<int64_t>(groups) * head_dim);
  }

  RetrofitOptions options_;
};

}  // namespace
}  // namespace gqa_retrofit

HEARTH_PLUGIN(gqa_retrofit::GqaRetrofit, "gqa_retrofit", "0.1",
              "grouped-query attention retrofit: KV heads merged at load (mean pooling)")
