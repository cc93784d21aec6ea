#include "hearth/deploy_config.h"

#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include "config/table_reader.h"
#include "config/toml_limits.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth {
namespace {
using config::resolve;
using config::section;
using config::TableReader;
using config::where;

void apply_environment(DeployConfig& c) {
  if (const char* model = std::getenv("HEARTH_MODEL"); model && *model) c.engine.model_path = model;
  if (const char* device = std::getenv("HEARTH_DEVICE"); device && *device) {
    if (std::string why = settings::check_device(device); !why.empty()) {
      throw Error("HEARTH_DEVICE: " + why);
    }
    c.engine.device = device;
  }
  if (const char* threads = std::getenv("HEARTH_THREADS"); threads && *threads) {
    const std::string_view text(threads);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) {
      throw Error("HEARTH_THREADS='" + std::string(text) + "' is not a thread count");
    }
    if (std::string why = settings::check(n, settings::threads); !why.empty()) {
      throw Error("HEARTH_THREADS: " + why);
    }
    c.engine.threads = static_cast<int32_t>(n);
  }
}

// A TOML value as the text a plugin receives: strings as they are, numbers and booleans in
// their TOML spelling.
std::string option_text(const std::string& path, const std::string& key, const toml::node& n) {
  if (auto s = n.value_exact<std::string>()) return *s;
  if (auto i = n.value_exact<int64_t>()) return std::to_string(*i);
  if (auto b = n.value_exact<bool>()) return *b ? "true" : "false";
  if (auto d = n.value_exact<double>()) {
    std::ostringstream text;
    text << *d;
    return text.str();
  }
  if (const toml::array* list = n.as_array()) {
    // A list arrives as its elements joined with commas ([2, 13] -> "2,13").
    std::string joined;
    for (const toml::node& element : *list) {
      if (element.is_array() || element.is_table()) {
        throw Error(where(path, element.source()) + ": [plugins.options] '" + key +
                    "' may list strings, numbers or booleans, not lists or tables");
      }
      joined += (joined.empty() ? "" : ",") + option_text(path, key, element);
    }
    return joined;
  }
  throw Error(where(path, n.source()) + ": [plugins.options] '" + key +
              "' must be a string, number, boolean or a list of them");
}

// [plugins.options] as key/value text. A table inside it ([plugins.options.handbook], or the
// dotted key handbook.documents) gives its keys joined with a dot: "handbook.documents".
void read_plugin_options(const std::string& path, const toml::table& table,
                         const std::string& prefix,
                         std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [name, value] : table) {
    const std::string key = prefix + std::string(name.str());
    if (const toml::table* inner = value.as_table()) {
      // Nesting is bounded by the file's own limits (check_toml_limits).
      read_plugin_options(path, *inner, key + ".", out);
    } else {
      out.emplace_back(key, option_text(path, key, value));
    }
  }
}

void read_plugins(const std::string& path, const toml::table& root, EngineOptions& engine) {
  if (auto* dirs = root.get("plugin_dirs")) {
    auto* array = dirs->as_array();
    if (!array)
      throw Error(where(path, dirs->source()) + ": 'plugin_dirs' must be an array of strings");
    for (const auto& item : *array) {
      auto dir = item.value_exact<std::string>();
      if (!dir) throw Error(where(path, item.source()) + ": 'plugin_dirs' entries must be strings");
      engine.plugin_dirs.push_back(resolve(path, *dir));
    }
  }
  auto* plugins = root.get("plugins");
  if (!plugins) return;
  auto* array = plugins->as_array();
  if (!array || !array->is_array_of_tables()) {
    throw Error(where(path, plugins->source()) + ": 'plugins' must be tables ([[plugins]])");
  }
  for (const auto& item : *array) {
    const toml::table& table = *item.as_table();
    PluginConfig plugin;
    {
      TableReader reader(path, "plugins", table);  // refuses unknown keys when it closes
      reader.string("name", plugin.name);
      reader.string("path", plugin.path);
      plugin.path = resolve(path, plugin.path);
      std::string on_error = "stop";
      reader.string("on_error", on_error);
      if (on_error != "stop" && on_error != "skip") {
        reader.fail(*table.get("on_error"), "'on_error' must be \"stop\" or \"skip\"");
      }
      plugin.required = on_error == "stop";
      if (const toml::node* options = reader.get("options")) {
        if (!options->is_table()) reader.fail(*options, "'options' must be a table");
        read_plugin_options(path, *options->as_table(), "", plugin.options);
      }
      plugin.config_dir = std::filesystem::absolute(path).parent_path().lexically_normal().string();
    }
    if (plugin.name.empty() && plugin.path.empty()) {
      throw Error(where(path, table.source()) + ": [[plugins]] needs 'name' or 'path'");
    }
    engine.plugins.push_back(std::move(plugin));
  }
}

void read_server(const std::string& path, const toml::table& root, ServerOptions& o) {
  TableReader server(path, "server", section(path, root, "server"));
  server.string("listen", o.listen);
  server.string("api_key_file", o.api_key_file);
  if (!o.api_key_file.empty()) o.api_key_file = resolve(path, o.api_key_file);
  server.string("model_alias", o.model_alias);
  server.integer("io_threads", o.io_threads, settings::io_threads);
  server.integer("max_body_bytes", o.max_body_bytes, settings::max_body_bytes);
  server.integer("max_header_bytes", o.max_header_bytes, settings::max_header_bytes);
  server.integer("max_connections", o.max_connections, settings::max_connections);
  server.integer("max_prompt_tokens", o.max_prompt_tokens, settings::max_prompt_tokens);
  server.integer("max_tokens_limit", o.max_tokens_limit, settings::max_tokens_limit);
  server.integer("max_choices", o.max_choices, settings::max_choices);
  server.integer("max_concurrent_requests", o.max_concurrent_requests,
                 settings::max_concurrent_requests);
  server.integer("max_queued_requests", o.max_queued_requests, settings::max_queued_requests);
  server.number("read_timeout", o.read_timeout, settings::timeout_seconds);
  server.number("idle_timeout", o.idle_timeout, settings::timeout_seconds);
  server.number("write_timeout", o.write_timeout, settings::timeout_seconds);
  server.number("shutdown_grace", o.shutdown_grace, settings::shutdown_grace);
}

}  // namespace

DeployConfig parse_deploy_config(std::string_view text, const std::string& path) {
  const toml::table root = config::parse_toml(text, path);
  static const std::set<std::string> kSections = {"model",   "runtime", "sampling",   "prompt",
                                                  "plugins", "server",  "plugin_dirs"};
  for (const auto& [key, node] : root) {
    if (!kSections.count(std::string(key.str()))) {
      throw Error(where(path, key.source()) + ": unknown section or key '" +
                  std::string(key.str()) +
                  "' (known: model, runtime, sampling, prompt, server, plugins, plugin_dirs)");
    }
  }
  DeployConfig c;
  read_plugins(path, root, c.engine);
  {
    TableReader model(path, "model", section(path, root, "model"));
    model.string("path", c.engine.model_path);
    c.engine.model_path = resolve(path, c.engine.model_path);
    model.string("chat_template", c.engine.chat_template_path);
    if (!c.engine.chat_template_path.empty()) {
      c.engine.chat_template_path = resolve(path, c.engine.chat_template_path);
    }
  }
  {
    TableReader runtime(path, "runtime", section(path, root, "runtime"));
    runtime.device("device", c.engine.device);
    runtime.integer("threads", c.engine.threads, settings::threads);
    runtime.integer("context_size", c.engine.context_size, settings::context_size);
    runtime.integer("batch_size", c.engine.max_batch_tokens, settings::batch_size);
    int64_t kv_mib = 0;
    runtime.integer("kv_cache_mib", kv_mib, settings::kv_cache_mib);
    c.engine.kv_cache_bytes = static_cast<size_t>(kv_mib) << 20;
    runtime.integer("kv_block_tokens", c.engine.kv_block_tokens, settings::kv_block_tokens);
    runtime.choice("kv_cache_type", c.engine.kv_cache_type, settings::kv_cache_types);
    runtime.choice("cpu_kernels", c.engine.cpu_kernels, settings::cpu_kernels);
  }
  {
    SamplingOptions& s = c.generation.sampling;
    TableReader sampling(path, "sampling", section(path, root, "sampling"));
    sampling.number("temperature", s.temperature, settings::temperature);
    sampling.integer("top_k", s.top_k, settings::top_k);
    sampling.number("top_p", s.top_p, settings::top_p);
    sampling.number("min_p", s.min_p, settings::min_p);
    sampling.number("repeat_penalty", s.repeat_penalty, settings::repeat_penalty);
    sampling.integer("repeat_last_n", s.repeat_last_n, settings::repeat_last_n);
    if (sampling.get("seed")) {
      uint64_t seed = 0;
      sampling.integer("seed", seed, {0, std::numeric_limits<int64_t>::max()});
      s.seed = seed;
    }
    sampling.integer("max_tokens", c.generation.max_tokens, settings::max_tokens);
    sampling.strings("stop", c.generation.stop);
    sampling.boolean("ignore_eos", c.generation.ignore_eos);
  }
  {
    TableReader prompt(path, "prompt", section(path, root, "prompt"));
    std::string file;
    prompt.string("text", c.prompt);
    prompt.string("file", file);
    prompt.boolean("add_bos", c.generation.add_bos);
    prompt.boolean("parse_special", c.generation.parse_special);
    prompt.string("knowledge", c.generation.knowledge_prefix);
    if (!file.empty()) {
      if (!c.prompt.empty()) throw Error(path + ": [prompt] give either 'text' or 'file'");
      try {
        c.prompt =
            read_text_file(resolve(path, file), "prompt file", settings::max_prompt_file_bytes);
      } catch (const Error& e) {
        throw Error(where(path, prompt.get("file")->source()) + ": [prompt] " + e.what());
      }
    }
  }
  read_server(path, root, c.server);
  apply_environment(c);
  if (c.engine.model_path.empty()) throw Error(path + ": [model] path is required");
  return c;
}

DeployConfig load_deploy_config(const std::string& path) {
  return parse_deploy_config(read_text_file(path, "configuration file", kMaxDeployFileBytes), path);
}

}  // namespace hearth
