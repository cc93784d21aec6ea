// Test fixture (attention): merges each layer's KV heads into `groups` heads (option,
// required) by averaging runs of consecutive heads in attn_k and attn_v. On a model whose KV
// heads come in identical runs (an MHA copy of a GQA model) the merge is lossless.
#include <string>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

// rows = heads * head_dim (head-major) x cols; each output head is the mean of `run` inputs.
std::vector<float> merge_heads(const std::vector<float>& weight, int32_t heads, int32_t head_dim,
                               int64_t cols, int32_t groups) {
  const int32_t run = heads / groups;
  std::vector<float> merged(static_cast<size_t>(groups) * head_dim * cols, 0.0f);
  for (int32_t group = 0; group < groups; ++group) {
    for (int32_t member = 0; member < run; ++member) {
      const int32_t head = group * run + member;
      for (int32_t d = 0; d < head_dim; ++d) {
        const float* in = weight.data() + (static_cast<int64_t>(head) * head_dim + d) * cols;
        float* out = merged.data() + (static_cast<int64_t>(group) * head_dim + d) * cols;
        for (int64_t c = 0; c < cols; ++c) out[c] += in[c] / static_cast<float>(run);
      }
    }
  }
  return merged;
}

class TestMergeHeads : public hearth::sdk::AttentionPlugin {
 public:
  TestMergeHeads(Host host, const Options& options)
      : AttentionPlugin(host, options), groups_(required_groups(options)) {}

  void transform() override {
    const double start = host().now();
    const hearth_model_desc& model = host().model();
    // Refuse before touching any weight, so a refusal leaves the model as it was.
    if (model.heads % groups_ != 0) throw indivisible("query heads", model.heads);
    for (int32_t layer = 0; layer < model.layers; ++layer) {
      if (model.layer_kv_heads[layer] % groups_ != 0) {
        throw indivisible("KV heads of layer " + std::to_string(layer),
                          model.layer_kv_heads[layer]);
      }
    }
    for (int32_t layer = 0; layer < model.layers; ++layer) {
      const int32_t heads = model.layer_kv_heads[layer];
      for (const char* tensor : {"attn_k.weight", "attn_v.weight"}) {
        const std::string name = "blk." + std::to_string(layer) + "." + tensor;
        hearth::sdk::Shape shape = host().weight_shape(name);
        if (shape.rows != static_cast<int64_t>(heads) * model.head_dim || shape.cols != model.dim) {
          throw Error(HEARTH_ERROR_FAILED, name + " is not (kv heads * head_dim) x dim");
        }
        host().replace_weight(
            name, merge_heads(host().read_weight(name), heads, model.head_dim, shape.cols, groups_),
            static_cast<int64_t>(groups_) * model.head_dim, shape.cols);
      }
      host().set_layer_kv_heads(layer, groups_);
    }

    hearth_event event{};
    event.type = HEARTH_EVENT_METHOD_OVERHEAD;
    event.time_seconds = host().now();
    event.elapsed_seconds = event.time_seconds - start;
    event.token = -1;
    host().emit(event);
  }

 private:
  static int32_t required_groups(const Options& options) {
    if (!options.has("groups"))
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "missing option 'groups'");
    return static_cast<int32_t>(options.get_int("groups", 0, 1, 1 << 16));
  }

  Error indivisible(const std::string& what, int32_t count) const {
    return Error(HEARTH_ERROR_INVALID_ARGUMENT, "groups = " + std::to_string(groups_) +
                                                    " does not divide the " + what + " (" +
                                                    std::to_string(count) + ")");
  }

  int32_t groups_;
};

}  // namespace

HEARTH_PLUGIN(TestMergeHeads, "test_merge_heads", "1.0", "merges KV heads by averaging")
