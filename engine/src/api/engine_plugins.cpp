// The Engine's side of plugins: creating them from the configuration, describing the model
// to them, delivering events, and the public calls that reach knowledge and metrics plugins.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "api/engine_impl.h"
#include "api/prometheus_text.h"
#include "hearth/error.h"
#include "hearth/plugin_probe.h"
#include "hearth/text.h"
#include "plugins/abi_struct.h"
#include "plugins/plugin_instance.h"
#include "scheduler/scheduler.h"

namespace hearth {

detail::EngineState::~EngineState() {
  // The scheduler first (it drives requests through plugins and the cache), then the plugins:
  // their destroy() may still use host services that read the engine.
  scheduler.reset();
  plugins.clear();
}

void detail::EngineState::create_plugins() {
  const auto directories = plugin_search_directories(options.plugin_dirs);
  for (const PluginConfig& config : options.plugins) {
    try {
      std::string path = config.path;
      if (path.empty()) {
        if (config.name.empty())
          throw plugins::PluginRefused("[[plugins]] entry without name or path");
        path = find_plugin_library(config.name, directories);
        if (path.empty()) {
          std::string searched;
          for (const auto& d : directories) searched += (searched.empty() ? "" : ", ") + d;
          throw plugins::PluginRefused("plugin '" + config.name + "': no hearth-" + config.name +
                                       ".so in " + searched);
        }
      }
      auto library = plugins::load_library(path);
      if (!config.name.empty() && config.name != library.descriptor->name) {
        throw plugins::PluginRefused(path + ": declares name '" +
                                     std::string(library.descriptor->name) + "', not '" +
                                     config.name + "'");
      }
      plugins.push_back(std::make_unique<plugins::PluginInstance>(library, *this, config));
      has_metrics = has_metrics || plugins.back()->kind() == HEARTH_PLUGIN_METRICS;
    } catch (const plugins::PluginRefused& refused) {
      if (config.required) throw;
      plugin_warnings.push_back(refused.what());
      std::fprintf(stderr, "hearth: skipping plugin: %s\n", printable(refused.what()).c_str());
    }
  }
}

void detail::EngineState::describe_model() {
  hearth_model_desc& d = model_description;
  d = plugins::make_abi_struct<hearth_model_desc>();
  d.architecture = config.architecture.c_str();
  d.name = config.name.c_str();
  std::snprintf(identity_text, sizeof identity_text, "%s", identity.c_str());
  d.identity = identity_text;
  d.vocab_size = config.vocab_size;
  d.dim = config.dim;
  d.layers = config.layers;
  d.heads = config.heads;
  d.head_dim = config.head_dim;
  d.ffn_dim = config.ffn_dim;
  d.context_size = context_size;
  d.bos_token = text_tokenizer->bos();
  d.eos_token = text_tokenizer->eos();
  d.layer_kv_heads = config.layer_kv_heads.data();
  d.rope_dims = config.rope_dims;
  d.rope_neox = config.rope_style == RopeStyle::neox ? 1 : 0;
}

hearth_memory_stats detail::EngineState::memory_stats() const {
  return plugins::memory_stats(info.weight_bytes, cache.get());
}

hearth_event detail::EngineState::make_event(hearth_event_type type, uint64_t request_id) const {
  auto e = plugins::make_abi_struct<hearth_event>();
  e.type = type;
  e.request_id = request_id;
  e.time_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  e.token = -1;
  e.status = HEARTH_OK;
  e.kv_bytes =
      cache ? size_t(cache->total_blocks() - cache->free_blocks()) * cache->geometry().block_bytes
            : 0;
  e.kv_shared_bytes = cache ? size_t(cache->shared_blocks()) * cache->geometry().block_bytes : 0;
  e.weight_bytes = info.weight_bytes;
  e.device = device.c_str();
  e.source = "core";
  return e;
}

void detail::EngineState::emit(const hearth_event& event, const hearth_host* from) {
  if (!has_metrics || emit_depth >= 2) return;
  ++emit_depth;
  for (auto& plugin : plugins) {
    if (plugin->kind() == HEARTH_PLUGIN_METRICS && !plugin->is_host(from)) plugin->on_event(event);
  }
  --emit_depth;
}

plugins::PluginInstance& detail::EngineState::find_plugin(hearth_plugin_kind kind,
                                                          const std::string& name) const {
  plugins::PluginInstance* found = nullptr;
  for (const auto& plugin : plugins) {
    if (plugin->kind() != kind) continue;
    if (plugin->name() == name) return *plugin;
    if (name.empty()) {
      if (found) {
        throw Error(std::string("several ") + plugins::kind_name(kind) +
                    " plugins are loaded: name the one to use");
      }
      found = plugin.get();
    }
  }
  if (!found) {
    throw Error(std::string("no ") + plugins::kind_name(kind) + " plugin" +
                (name.empty() ? "" : " named '" + name + "'") + " is loaded");
  }
  return *found;
}

std::vector<PluginInfo> Engine::plugins() const {
  std::vector<PluginInfo> out;
  for (const auto& plugin : impl_->plugins) out.push_back(plugin->info());
  return out;
}

const std::vector<std::string>& Engine::plugin_warnings() const { return impl_->plugin_warnings; }

KnowledgeBuildStats Engine::knowledge_build(const std::string& prefix,
                                            const std::vector<std::string>& documents,
                                            const std::string& plugin) {
  auto lock = impl_->lock("knowledge_build");
  auto& p = impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin);
  const auto started = std::chrono::steady_clock::now();
  const uint64_t forwarded_before = p.forwarded_tokens();
  p.knowledge_build(prefix, documents);
  KnowledgeBuildStats stats;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  stats.forwarded_tokens = static_cast<int64_t>(p.forwarded_tokens() - forwarded_before);
  hearth_event overhead = impl_->make_event(HEARTH_EVENT_METHOD_OVERHEAD, 0);
  overhead.elapsed_seconds = stats.seconds;
  overhead.prompt_tokens = static_cast<int32_t>(
      std::min<int64_t>(stats.forwarded_tokens, std::numeric_limits<int32_t>::max()));
  overhead.source = p.name().c_str();
  impl_->emit(overhead);
  return stats;
}

SequenceId Engine::knowledge_attach(const std::string& prefix, const std::string& plugin) {
  auto lock = impl_->lock("knowledge_attach");
  return impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_attach(prefix);
}

void Engine::knowledge_reset(const std::string& prefix, SequenceId sequence,
                             const std::string& plugin) {
  auto lock = impl_->lock("knowledge_reset");
  impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_reset(prefix, sequence);
}

void Engine::knowledge_save(const std::string& prefix, const std::string& path,
                            const std::string& plugin) {
  auto lock = impl_->lock("knowledge_save");
  impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_save(prefix, path);
}

void Engine::knowledge_restore(const std::string& prefix, const std::string& path,
                               const std::string& plugin) {
  auto lock = impl_->lock("knowledge_restore");
  impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_restore(prefix, path);
}

std::string Engine::knowledge_compose(const std::string& prefix, const std::string& question,
                                      const std::string& plugin) {
  auto lock = impl_->lock("knowledge_compose");
  return impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_compose(prefix, question);
}

std::vector<std::pair<std::string, std::string>> Engine::knowledge_describe(
    const std::string& prefix, const std::string& plugin) {
  auto lock = impl_->lock("knowledge_describe");
  return impl_->find_plugin(HEARTH_PLUGIN_KNOWLEDGE, plugin).knowledge_describe(prefix);
}

std::vector<std::string> Engine::knowledge_sets(const std::string& plugin) {
  std::vector<std::string> names;
  for (const auto& [key, value] : knowledge_describe("", plugin)) {
    if (key == "set") names.push_back(value);
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> Engine::metrics_snapshot(
    const std::string& plugin) {
  auto lock = impl_->lock("metrics_snapshot");
  return impl_->find_plugin(HEARTH_PLUGIN_METRICS, plugin).snapshot();
}

std::string Engine::metrics_prometheus() {
  auto lock = impl_->lock("metrics_prometheus");
  std::vector<std::pair<std::string, detail::Snapshot>> snapshots;
  for (const auto& plugin : impl_->plugins) {
    if (plugin->kind() == HEARTH_PLUGIN_METRICS) {
      snapshots.emplace_back(plugin->name(), plugin->snapshot());
    }
  }
  return detail::prometheus_text(snapshots);
}

void Engine::metrics_report(const std::string& path, const std::string& plugin) {
  auto lock = impl_->lock("metrics_report");
  impl_->find_plugin(HEARTH_PLUGIN_METRICS, plugin).write_report(path);
}

void Engine::save_sequence(SequenceId sequence, const std::string& path) const {
  auto lock = impl_->lock("save_sequence");
  impl_->cache->save(sequence, path, impl_->identity);
}

SequenceId Engine::load_sequence(const std::string& path) {
  auto lock = impl_->lock("load_sequence");
  return impl_->cache->load(path, impl_->identity);
}

const std::string& Engine::model_identity() const { return impl_->identity; }

}  // namespace hearth
