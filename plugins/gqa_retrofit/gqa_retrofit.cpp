// gqa_retrofit: converts a multi-head-attention model to grouped-query attention at load.
// Each layer's KV heads are merged in groups of consecutive heads (their K and V projections
// averaged, Ainslie et al. 2023), with method "aligned" after turning each towards its group's
// first on calibration activations; the query heads stay, each reading its group's merged head.
// The KV cache and the kernels follow the new head counts, so every cached token costs
// (old heads / new heads) times less.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "alignment.h"
#include "head_merge.h"
#include "hearth/plugin.hpp"
#include "retrofit_options.h"

namespace gqa_retrofit {
namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

// The calibration text's tokens, at most `limit`, BOS first.
std::vector<int32_t> calibration_tokens(const Host& host, const std::string& path, int32_t limit) {
  constexpr std::streamsize kMaxBytes = 16 << 20;
  std::error_code not_file;
  // Only a regular file: a FIFO or a device would block or never end.
  std::ifstream in;
  if (std::filesystem::is_regular_file(path, not_file)) in.open(path, std::ios::binary);
  if (!in.is_open() || !in) {
    throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                "gqa_retrofit: cannot read calibration '" + path + "' (not a readable file)");
  }
  std::string text(static_cast<size_t>(kMaxBytes), '\0');
  in.read(text.data(), kMaxBytes);
  text.resize(static_cast<size_t>(in.gcount()));
  std::vector<int32_t> tokens = host.tokenize(text, true);
  if (tokens.size() < 16) {
    throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "gqa_retrofit: calibration '" + path + "' is " +
                                                   std::to_string(tokens.size()) +
                                                   " tokens; at least 16 are needed");
  }
  if (tokens.size() > static_cast<size_t>(limit)) tokens.resize(static_cast<size_t>(limit));
  return tokens;
}

class GqaRetrofit : public hearth::sdk::AttentionPlugin {
 public:
  GqaRetrofit(Host host, const Options& options)
      : AttentionPlugin(host, options),
        options_(parse_retrofit_options(options, host.config_dir())) {}

  void transform() override {
    const double started = host().now();
    const hearth_model_desc& model = host().model();
    std::vector<int32_t> current(model.layer_kv_heads, model.layer_kv_heads + model.layers);
    // Every count is checked before any weight changes, so a refusal leaves the model whole.
    const std::vector<int32_t> target =
        target_kv_heads(options_, model.layers, model.heads, current);
    // The aligned method reads every layer's attention input before any weight changes.
    std::vector<std::vector<float>> inputs;
    int64_t calibrated = 0;
    if (options_.method != Method::mean) {
      if (!HEARTH_HAS_MEMBER(&model, hearth_model_desc, rope_neox, 5)) {
        throw Error(HEARTH_ERROR_UNSUPPORTED,
                    "gqa_retrofit: method \"aligned\" needs a host "
                    "of ABI 1.5 (RoPE layout, calibration)");
      }
      // At most what the context holds: the calibration run is one sequence.
      const std::vector<int32_t> tokens = calibration_tokens(
          host(), options_.calibration, std::min(options_.calibration_tokens, model.context_size));
      calibrated = static_cast<int64_t>(tokens.size());
      inputs.resize(static_cast<size_t>(model.layers));
      host().calibrate(tokens, [&](int32_t layer, const float* rows, size_t count) {
        inputs.at(static_cast<size_t>(layer)).assign(rows, rows + count * size_t(model.dim));
      });
    }
    int32_t merged_layers = 0;
    for (int32_t layer = 0; layer < model.layers; ++layer) {
      const int32_t heads = current[static_cast<size_t>(layer)];
      const int32_t groups = target[static_cast<size_t>(layer)];
      if (groups == heads) continue;
      const std::string prefix = "blk." + std::to_string(layer) + ".";
      if (options_.method != Method::mean) {
        align_layer(prefix, heads, groups, inputs[static_cast<size_t>(layer)], calibrated);
      }
      if (!options_.merge) continue;
      for (const char* tensor : {"attn_k.weight", "attn_v.weight"}) {
        merge(prefix + tensor, heads, groups, model.head_dim, model.dim);
      }
      for (const char* tensor : {"attn_k.bias", "attn_v.bias"}) {
        merge_bias(prefix + tensor, heads, groups, model.head_dim);
      }
      host().set_layer_kv_heads(layer, groups);
      ++merged_layers;
    }
    // The host reports the time and the calibration tokens as a METHOD_OVERHEAD event.
    const double elapsed = host().now() - started;
    host().log(HEARTH_LOG_INFO,
               "merged the KV heads of " + std::to_string(merged_layers) + " of " +
                   std::to_string(model.layers) + " layers (" +
                   (options_.method != Method::mean
                        ? std::string(options_.method == Method::aligned_grouped
                                          ? "grouped by similarity, "
                                          : "") +
                              "aligned on " + std::to_string(calibrated) + " calibration tokens"
                        : std::string("mean")) +
                   ") in " + std::to_string(elapsed) + " s");
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

  // Turns every head of each group towards the group's first (alignment.h); the merge after
  // it averages heads that now point the same way.
  void align_layer(const std::string& prefix, int32_t heads, int32_t groups,
                   const std::vector<float>& x, int64_t tokens) const {
    const hearth_model_desc& model = host().model();
    LayerWeights w;
    w.wq = host().read_weight(prefix + "attn_q.weight");
    w.wk = host().read_weight(prefix + "attn_k.weight");
    w.wv = host().read_weight(prefix + "attn_v.weight");
    w.wo = host().read_weight(prefix + "attn_output.weight");
    const bool biased = has(prefix + "attn_k.bias");
    if (biased) {
      w.bq = host().read_weight(prefix + "attn_q.bias");
      w.bk = host().read_weight(prefix + "attn_k.bias");
      w.bv = host().read_weight(prefix + "attn_v.bias");
    }
    const LayerShape shape{model.dim,      model.heads,     heads,
                           model.head_dim, model.rope_dims, model.rope_neox != 0};
    if (options_.method == Method::aligned_grouped) {
      // Alike heads side by side first, so the groups of neighbours are groups of alike heads.
      permute_heads(w, shape, similar_order(w, shape, groups, x, tokens));
    }
    align_heads(w, shape, groups, x, tokens);
    const int64_t q_rows = int64_t(model.heads) * model.head_dim;
    const int64_t kv_rows = int64_t(heads) * model.head_dim;
    host().replace_weight(prefix + "attn_q.weight", w.wq, q_rows, model.dim);
    host().replace_weight(prefix + "attn_k.weight", w.wk, kv_rows, model.dim);
    host().replace_weight(prefix + "attn_v.weight", w.wv, kv_rows, model.dim);
    host().replace_weight(prefix + "attn_output.weight", w.wo, model.dim, q_rows);
    if (biased) {
      host().replace_weight(prefix + "attn_q.bias", w.bq, 1, q_rows);
      host().replace_weight(prefix + "attn_k.bias", w.bk, 1, kv_rows);
      host().replace_weight(prefix + "attn_v.bias", w.bv, 1, kv_rows);
    }
  }

  bool has(const std::string& name) const {
    try {
      host().weight_shape(name);
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  // Models with biases on K and V (Qwen2) carry one value per KV head row; they are merged
  // like the rows they belong to. Most models have none.
  void merge_bias(const std::string& name, int32_t heads, int32_t groups, int32_t head_dim) const {
    if (!has(name)) return;
    const hearth::sdk::Shape shape = host().weight_shape(name);
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
