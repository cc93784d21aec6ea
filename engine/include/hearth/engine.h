// hearth: the C++ API. An Engine holds one model on one device, its tokenizer, its KV cache
// and a scheduler thread that owns the forward pass. Requests (submit(), generate()) are
// queued to the scheduler, which batches every live request into each pass; sequences and
// decode() give direct access to the cache and the pass for callers that drive them themselves.
//
// Threading: every member may be called from any thread, concurrently. Calls that touch
// sequences or run passes wait for the scheduler's current step (they never interleave with
// it); tokenizer calls never wait. Request callbacks run on the scheduler's thread and may
// not call the waiting members (those throw there). Errors are thrown as hearth::Error with a
// message naming what and where.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/batch.h"
#include "hearth/generation.h"
#include "hearth/kv_cache_stats.h"
#include "hearth/model_shape.h"
#include "hearth/plugin_config.h"
#include "hearth/request.h"

namespace hearth {

namespace detail {
struct EngineState;  // what an Engine owns; private to the engine library
}

struct EngineOptions {
  std::string model_path;
  std::string chat_template_path;               // "" = the model's own tokenizer.chat_template
  std::string device = "cpu";                   // cpu, auto, cuda[:N], hip[:N]
  int32_t threads = 0;                          // 0 = all physical cores
  int32_t context_size = 0;                     // 0 = the model's training context, at least 4096
  size_t kv_cache_bytes = 0;                    // 0 = room for one full context
  int32_t kv_block_tokens = 16;                 // positions per KV cache block
  std::string kv_cache_type = "f16";            // f16 | f32: cached key and value elements
  int32_t max_batch_tokens = 512;               // prompts are fed in chunks of this many tokens
  std::string cpu_kernels;                      // "" = best for this CPU; reference | avx2 | avx512
  std::function<void(float)> on_load_progress;  // fraction in [0, 1]
  // How far a plugin's one-time work (a knowledge prefix being prefilled) has come: `done` of
  // `total` units of `task` ("cag: handbook"). Called on the thread doing the work.
  std::function<void(const std::string& task, int64_t done, int64_t total)> on_progress;
  std::vector<std::string> plugin_dirs;  // searched before HEARTH_PLUGIN_PATH
  std::vector<PluginConfig> plugins;     // created in order; attention ones transform
  // Keep what attention plugins replaced after load, for write_model() (costs its memory).
  bool keep_transformed_weights = false;
};

// The loaded model: its shape, and what loading it decided.
struct ModelInfo : ModelShape {
  std::string path;
  int32_t context_size = 0;
  size_t weight_bytes = 0;
  std::string device;  // where it runs: "cpu", "cuda:0" ("auto" resolved)
  std::string device_description;
  size_t device_memory_bytes = 0;  // the device's total memory (0 = unknown)
};

// What one knowledge_build() cost: also reported to metrics plugins as a METHOD_OVERHEAD
// event (elapsed_seconds, prompt_tokens).
struct KnowledgeBuildStats {
  double seconds = 0;
  int64_t forwarded_tokens = 0;  // tokens prefilled; 0 when a persisted cache was loaded
};

class Engine {
 public:
  static std::unique_ptr<Engine> load(const EngineOptions& options);
  ~Engine();

  const ModelInfo& model_info() const;

  // Tokenizer.
  std::vector<int32_t> tokenize(std::string_view text, bool add_bos, bool parse_special) const;
  std::string detokenize(std::span<const int32_t> tokens) const;
  std::string token_piece(int32_t token) const;
  int32_t bos_token() const;  // -1 when the vocabulary has none
  bool is_end_of_generation(int32_t token) const;

  // Chat: the template (the model's, or EngineOptions::chat_template_path) is parsed at load,
  // so one the renderer cannot handle fails the load. render_chat() renders `messages` (a JSON
  // array of role/content objects, tool_calls and the like) with the model's BOS and EOS
  // texts; `variables` (a JSON object: tools, documents...) adds variables. Throws
  // hearth::Error when the model has no template or the template raises or fails.
  bool has_chat_template() const;
  std::string render_chat(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                          const nlohmann::ordered_json* variables = nullptr) const;

  // Sequences in the KV cache.
  SequenceId create_sequence();
  SequenceId fork_sequence(SequenceId parent);  // shares the parent's cache blocks
  void truncate_sequence(SequenceId sequence, int32_t length);
  void drop_sequence(SequenceId sequence);
  int32_t sequence_length(SequenceId sequence) const;
  KvCacheStats kv_cache_stats() const;

  // Plugins in use, in configuration order; and the ones refused but not required.
  std::vector<PluginInfo> plugins() const;
  const std::vector<std::string>& plugin_warnings() const;

  // Knowledge prefixes, through the knowledge plugin named `plugin` ("" = the only one).
  // Without documents, `prefix` names a set the plugin is configured with (cag: its files,
  // and its cache file when one matches).
  KnowledgeBuildStats knowledge_build(const std::string& prefix,
                                      const std::vector<std::string>& documents,
                                      const std::string& plugin = "");
  SequenceId knowledge_attach(const std::string& prefix, const std::string& plugin = "");
  void knowledge_reset(const std::string& prefix, SequenceId sequence,
                       const std::string& plugin = "");
  void knowledge_save(const std::string& prefix, const std::string& path,
                      const std::string& plugin = "");
  void knowledge_restore(const std::string& prefix, const std::string& path,
                         const std::string& plugin = "");
  // The prompt a request on `prefix` (GenerationOptions::knowledge_prefix) gives for
  // `question`: the question placed in the prefix's template (cag), or as it is.
  std::string knowledge_compose(const std::string& prefix, const std::string& question,
                                const std::string& plugin = "");
  // What the plugin says of one prefix in full, or of every one briefly when `prefix` is
  // empty, as ordered key/values; each prefix starts with ("set", its name).
  std::vector<std::pair<std::string, std::string>> knowledge_describe(
      const std::string& prefix = "", const std::string& plugin = "");
  // The names of the prefixes the plugin is configured with or holds.
  std::vector<std::string> knowledge_sets(const std::string& plugin = "");

  // Metrics plugins' counters and reports ("" = the only metrics plugin).
  std::vector<std::pair<std::string, std::string>> metrics_snapshot(const std::string& plugin = "");
  void metrics_report(const std::string& path, const std::string& plugin = "");
  // Every metrics plugin's counters as Prometheus text (hearth_<plugin>_<key>), for /metrics.
  std::string metrics_prometheus();

  // A sequence's KV cache in a file that records the model's identity; loading a file from
  // another model, or a damaged one, is refused.
  void save_sequence(SequenceId sequence, const std::string& path) const;
  SequenceId load_sequence(const std::string& path);
  const std::string& model_identity() const;
  // Writes the model as the attention plugins left it (weights, KV head count) to a GGUF file
  // that loads without them. Needs EngineOptions::keep_transformed_weights; KV head counts
  // that differ between layers cannot be written (the format holds one).
  void write_model(const std::string& path) const;

  // One forward pass; `logits` receives vocab_size floats per entry with wants_logits.
  void decode(std::span<const BatchToken> batch, std::vector<float>& logits);
  // Feeds `tokens` to the end of `sequence` in chunks; returns the last token's logits.
  std::vector<float> prefill(SequenceId sequence, std::span<const int32_t> tokens);

  // Queues a request to generate text after `prompt` in a fresh sequence (dropped when it
  // ends) and returns its handle at once. Options and prompt are checked here (an Error names
  // what is wrong); whether its KV reservation can ever fit is decided at admission.
  Request submit(std::string_view prompt, const GenerationOptions& options,
                 RequestCallbacks callbacks = {});
  // The same from prompt tokens (an empty list starts from BOS alone).
  Request submit_tokens(std::vector<int32_t> prompt, const GenerationOptions& options,
                        RequestCallbacks callbacks = {});

  SchedulerStats scheduler_stats() const;

  // submit() and wait(). `on_text` receives the text as it becomes final (stop strings are
  // never emitted), on the scheduler's thread; returning false stops generation.
  using TextCallback = std::function<bool(std::string_view)>;
  GenerationResult generate(std::string_view prompt, const GenerationOptions& options,
                            const TextCallback& on_text = {});
  // The same from prompt tokens (an empty list starts from BOS alone).
  GenerationResult generate_tokens(std::vector<int32_t> prompt, const GenerationOptions& options,
                                   const TextCallback& on_text = {});

 private:
  explicit Engine(std::unique_ptr<detail::EngineState> impl);
  std::unique_ptr<detail::EngineState> impl_;
};

}  // namespace hearth
