// What an Engine owns, in the order it is built and torn down.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"
#include "gguf/gguf_file.h"
#include "hearth/engine.h"
#include "hearth/model_chat_template.h"
#include "hearth/plugin.h"
#include "kv_cache/kv_cache.h"
#include "model/calibration_forward.h"
#include "model/llama_weights.h"
#include "model/model_config.h"
#include "model/weight_overrides.h"
#include "plugins/engine_services.h"
#include "runtime/forward_pass.h"
#include "scheduler/ticket_mutex.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

namespace plugins {
class PluginInstance;
}
class Scheduler;

// What an Engine owns, and the services the plugin host may use (EngineServices).
struct detail::EngineState final : plugins::EngineServices {
  ~EngineState() override;

  EngineOptions options;
  std::unique_ptr<gguf::File> file;
  ModelConfig config;
  std::unique_ptr<Tokenizer> text_tokenizer;
  ModelChatTemplate chat;  // the template and the BOS/EOS texts it is rendered with
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<WeightOverrides> overrides;       // while attention plugins transform the model
  std::unique_ptr<WeightOverrides> kept_overrides;  // keep_transformed_weights: for write_model
  LlamaWeights weights;
  std::unique_ptr<KvCache> cache;
  std::unique_ptr<ForwardPass> forward_pass;
  ModelInfo info;
  std::string identity;         // 16 hex digits once the weights are loaded
  char identity_text[17] = {};  // what model_desc.identity points to: stable for its life
  std::string device;
  hearth_model_desc model_description{};  // what plugins see
  int32_t context_size = 0;
  double load_seconds = 0;
  std::vector<std::string> plugin_warnings;
  // Plugin instances may call back into the engine: destroyed before everything above.
  std::vector<std::unique_ptr<plugins::PluginInstance>> plugins;
  // Held by the scheduler for each step and by every Engine call that touches sequences or
  // runs passes, so callers on any thread see the cache between steps.
  TicketMutex mutex;
  // Destroyed first of all (~EngineState): it drives requests through the plugins and the cache.
  std::unique_ptr<Scheduler> scheduler;

  // Locks `mutex` for an Engine call named `what`; refuses calls from a request callback,
  // which runs on the scheduler's thread while it holds the lock.
  std::unique_lock<TicketMutex> lock(const char* what);
  // Throws when called from a request callback: `what` would wait on the scheduler thread
  // that is running it.
  void refuse_on_scheduler_thread(const char* what) const;

  // Hands an event to every metrics plugin but `from` (the emitting plugin's host). Events a
  // plugin emits while handling an event are dropped past a small depth.
  void emit(const hearth_event& event, const hearth_host* from = nullptr) override;
  bool has_metrics = false;
  int emit_depth = 0;
  // A core event of the given type, with the engine's memory and device filled in.
  hearth_event make_event(hearth_event_type type, uint64_t request_id) const;
  // The plugin of `kind` named `name` ("" = the only one of that kind); throws when absent.
  plugins::PluginInstance& find_plugin(hearth_plugin_kind kind, const std::string& name) const;
  // Loads and creates options.plugins; refusals stop start-up unless the plugin is optional.
  void create_plugins();
  // Refreshes model_desc from config and identity.
  void describe_model();

  // EngineServices.
  const hearth_model_desc& model_desc() const override { return model_description; }
  const Tokenizer& tokenizer() const override { return *text_tokenizer; }
  int32_t max_batch_tokens() const override { return options.max_batch_tokens; }
  const std::string& model_identity() const override { return identity; }
  const std::string& device_name() const override { return device; }
  KvCache* kv_cache() override { return cache.get(); }
  void forward(std::span<const BatchToken> batch, std::vector<float>& logits) override {
    forward_pass->run(batch, logits);
  }
  WeightOverrides* weight_overrides() override { return overrides.get(); }
  void set_layer_kv_heads(int32_t layer, int32_t kv_heads) override {
    config.layer_kv_heads[layer] = kv_heads;
  }
  hearth_memory_stats memory_stats() const override;
  void calibrate(std::span<const int32_t> tokens,
                 const std::function<void(int32_t, std::span<const float>)>& sink) override {
    calibration_forward(config, *overrides, tokens, sink);
  }
  void progress(const std::string& task, int64_t done, int64_t total) override {
    if (options.on_progress) options.on_progress(task, done, total);
  }
};

// The chat template of an open model file (or the file at `template_path` when not empty)
// and its BOS/EOS texts from `vocab`.
ModelChatTemplate read_chat_template(const gguf::File& file, const Vocabulary& vocab,
                                     const std::string& template_path);

// Creates the backend named by options.device and sets `device` to the device it runs on
// ("cpu", "cuda:0"; "auto" resolved).
std::unique_ptr<backend::Backend> create_backend(const EngineOptions& options, std::string& device);

}  // namespace hearth
