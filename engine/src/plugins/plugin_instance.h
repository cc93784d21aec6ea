// One created plugin: the library's descriptor, the host services it was given, and typed
// calls into its interface that turn a failed status into hearth::Error naming the plugin,
// the call and the plugin's own message.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hearth/batch.h"
#include "hearth/plugin_config.h"
#include "plugins/plugin_host.h"
#include "plugins/plugin_library.h"

namespace hearth::plugins {

struct Hypothesis {
  std::vector<int32_t> tokens;
  float score = 0;
};

class PluginInstance {
 public:
  // Calls the descriptor's create() with the configured options.
  PluginInstance(LoadedLibrary library, EngineServices& engine, const PluginConfig& config);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const std::string& name() const { return host_.plugin_name; }
  hearth_plugin_kind kind() const { return library_.descriptor->kind; }
  PluginInfo info() const;
  void set_phase(hearth_host::Phase phase) { host_.phase = phase; }
  bool is_host(const hearth_host* host) const { return host == &host_; }
  bool required() const { return required_; }

  // Decoding. Every call records the sequences the plugin makes for the request in `created`,
  // so the request can drop what is left of them when it ends.
  // Whether the plugin decodes step-wise (ABI 1.2) rather than through a whole-request run().
  bool decodes_step_wise() const;
  // The whole request at once (plugins before 1.2): the plugin runs its own forward passes.
  std::vector<Hypothesis> decode_run(const hearth_decode_request& request,
                                     std::vector<int32_t>& created);
  // Step-wise: begin, then steps until one answers finished (true), then the hypotheses;
  // decode_end() once for every state begin returned. `next` receives the rows to feed.
  // Before any work for a request (ABI 1.4): the KV blocks beyond the prompt's that the
  // plugin says the request may need (0 for plugins without admit()). A refusal throws,
  // invalid_argument when the plugin said so, with its message.
  int64_t decode_admit(const hearth_decode_request& request);
  hearth_decode_state* decode_begin(const hearth_decode_request& request,
                                    std::vector<int32_t>& created);
  bool decode_step(hearth_decode_state* state, std::span<const BatchToken> fed,
                   std::span<const float> logits, std::vector<BatchToken>& next,
                   std::vector<int32_t>& created);
  std::vector<Hypothesis> decode_result(hearth_decode_state* state, std::vector<int32_t>& created);
  void decode_end(hearth_decode_state* state) noexcept;
  // A finished request left sequences behind: counted, and reported once.
  void note_leaked_sequences(int32_t count);
  int32_t leaked_sequences() const { return leaked_sequences_; }

  void knowledge_build(const std::string& prefix, const std::vector<std::string>& documents);
  int32_t knowledge_attach(const std::string& prefix);
  void knowledge_reset(const std::string& prefix, int32_t sequence);
  void knowledge_save(const std::string& prefix, const std::string& path);
  void knowledge_restore(const std::string& prefix, const std::string& path);
  // ABI 1.5's optional members: the question as it is, and nothing described, without them.
  std::string knowledge_compose(const std::string& prefix, const std::string& question);
  std::vector<std::pair<std::string, std::string>> knowledge_describe(const std::string& prefix);
  // Tokens the plugin has fed through forward() so far.
  uint64_t forwarded_tokens() const { return host_.forwarded_tokens; }

  void transform();

  // Metrics plugins must not stop the engine: a failure is logged once per plugin.
  void on_event(const hearth_event& event) noexcept;
  std::vector<std::pair<std::string, std::string>> snapshot();
  bool has_report() const;
  void write_report(const std::string& path);

 private:
  void check(const char* call, hearth_status status);
  std::vector<Hypothesis> take_result(const char* call, hearth_decode_result& result);
  std::vector<hearth_batch_token> fed_rows_;  // what decode_step() hands over, reused

  LoadedLibrary library_;
  hearth_host host_;
  hearth_host_services services_;
  hearth_plugin_instance* instance_ = nullptr;
  bool event_failure_logged_ = false;
  int32_t leaked_sequences_ = 0;
  bool required_ = true;
};

}  // namespace hearth::plugins
