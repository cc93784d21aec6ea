#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "api/engine_impl.h"
#include "backend_registry.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "hearth/text.h"
#include "model/model_file_writer.h"
#include "model/model_identity.h"
#include "plugins/plugin_instance.h"
#include "scheduler/scheduler.h"

namespace hearth {

// The options were validated (settings::check_device): cpu, auto, or a backend name with an
// optional device index ("cuda:1"). "auto" is the first GPU backend built in that finds a
// device, else the CPU.
std::unique_ptr<backend::Backend> create_backend(const EngineOptions& options,
                                                 std::string& device) {
  if (options.device == "auto") {
    for (const backend::BackendEntry& entry : backend::backends()) {
      if (entry.name == "cpu" || entry.kernel_paths().empty()) continue;
      device = entry.name + ":0";
      return entry.create({options.threads, options.cpu_kernels, 0});
    }
    device = "cpu";
    return backend::find_backend("cpu")->create({options.threads, options.cpu_kernels, 0});
  }
  const size_t colon = options.device.find(':');
  const std::string name = options.device.substr(0, colon);
  const int index = colon == std::string::npos ? 0 : std::stoi(options.device.substr(colon + 1));
  const backend::BackendEntry* entry = backend::find_backend(name);
  if (!entry) throw Error("device '" + options.device + "': no " + name + " backend in this build");
  device = name == "cpu" ? name : name + ":" + std::to_string(index);
  return entry->create({options.threads, options.cpu_kernels, index});
}

Engine::Engine(std::unique_ptr<detail::EngineState> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const EngineOptions& options) {
  auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<detail::EngineState>();
  impl->options = options;
  settings::validate(options);
  impl->file = gguf::File::open(options.model_path);
  impl->config = read_model_config(*impl->file);
  {
    Vocabulary vocab = load_vocabulary(*impl->file);
    impl->chat = read_chat_template(*impl->file, vocab, options.chat_template_path);
    impl->text_tokenizer = std::make_unique<Tokenizer>(std::move(vocab));
  }
  if (impl->text_tokenizer->n_vocab() != impl->config.vocab_size) {
    throw Error(
        options.model_path + ": vocabulary has " + std::to_string(impl->text_tokenizer->n_vocab()) +
        " tokens but token_embd.weight has " + std::to_string(impl->config.vocab_size) + " rows");
  }
  impl->backend = create_backend(options, impl->device);
  impl->context_size = options.context_size > 0
                           ? options.context_size
                           : std::max(impl->config.context_train, settings::default_context_floor);
  impl->describe_model();

  // Plugins are created before the weights reach the device, so attention plugins can
  // transform them; the others wait for the ready phase to use sequences.
  impl->create_plugins();
  impl->overrides = std::make_unique<WeightOverrides>(*impl->file);
  for (auto it = impl->plugins.begin(); it != impl->plugins.end();) {
    plugins::PluginInstance& plugin = **it;
    if (plugin.kind() != HEARTH_PLUGIN_ATTENTION) {
      ++it;
      continue;
    }
    // An optional plugin that fails leaves the model as it found it.
    WeightOverrides saved_weights = *impl->overrides;
    std::vector<int32_t> saved_heads = impl->config.layer_kv_heads;
    auto started = std::chrono::steady_clock::now();
    const uint64_t fed_before = plugin.forwarded_tokens();
    try {
      plugin.transform();
    } catch (const Error& e) {
      if (plugin.required()) throw;
      impl->overrides = std::make_unique<WeightOverrides>(std::move(saved_weights));
      impl->config.layer_kv_heads = std::move(saved_heads);
      impl->plugin_warnings.push_back(e.what());
      std::fprintf(stderr, "hearth: skipping plugin: %s\n", printable(e.what()).c_str());
      it = impl->plugins.erase(it);
      continue;
    }
    hearth_event overhead = impl->make_event(HEARTH_EVENT_METHOD_OVERHEAD, 0);
    overhead.elapsed_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    overhead.prompt_tokens = static_cast<int32_t>(std::min<uint64_t>(
        plugin.forwarded_tokens() - fed_before, std::numeric_limits<int32_t>::max()));
    overhead.source = plugin.name().c_str();
    impl->emit(overhead);
    ++it;
  }
  const ModelConfig& c = impl->config;
  // The KV cache before the weights: a context too large for memory fails in a moment.
  int32_t context = impl->context_size;
  const bool f16_cache = options.kv_cache_type == "f16";
  KvCacheLayout layout{c.layer_kv_heads, c.head_dim, options.kv_block_tokens,
                       f16_cache ? TensorType::f16 : TensorType::f32};
  size_t per_token = 0;
  for (int32_t h : c.layer_kv_heads) per_token += 2 * size_t(h) * c.head_dim * (f16_cache ? 2 : 4);
  size_t budget = options.kv_cache_bytes > 0
                      ? options.kv_cache_bytes
                      : per_token * (size_t(context) + options.kv_block_tokens);
  try {
    impl->cache = std::make_unique<KvCache>(*impl->backend, layout, budget);
  } catch (const Error& e) {
    throw Error("KV cache: cannot allocate " + std::to_string(budget >> 20) + " MiB (" +
                    (options.kv_cache_bytes > 0
                         ? std::string("kv_cache_mib")
                         : "a context of " + std::to_string(context) + " positions x " +
                               std::to_string(per_token) + " bytes") +
                    "): " + e.what() +
                    "; lower the context size (-c, [runtime] context_size) or the cache budget "
                    "([runtime] kv_cache_mib)",
                e.code());
  }
  impl->identity = hearth::model_identity(*impl->file, c, *impl->overrides);
  impl->weights = load_llama_weights(*impl->file, c, *impl->backend, options.on_load_progress,
                                     impl->overrides.get());
  if (options.keep_transformed_weights) {
    impl->kept_overrides = std::move(impl->overrides);
  } else {
    impl->overrides.reset();
  }

  impl->forward_pass =
      std::make_unique<ForwardPass>(c, impl->weights, *impl->backend, *impl->cache, context);

  ModelInfo& info = impl->info;
  static_cast<ModelShape&>(info) = c;
  info.kv_heads = c.layer_kv_heads.front();  // as it runs, after any attention plugin
  info.path = options.model_path;
  info.context_size = context;
  info.weight_bytes = impl->weights.byte_size();
  impl->describe_model();
  for (auto& plugin : impl->plugins) plugin->set_phase(hearth_host::Phase::ready);
  const backend::DeviceInfo device = impl->backend->info();
  info.device = impl->device;
  info.device_description = device.description;
  info.device_memory_bytes = device.total_bytes;
  impl->load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl->scheduler = std::make_unique<Scheduler>(*impl);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ModelInfo& Engine::model_info() const { return impl_->info; }

std::vector<int32_t> Engine::tokenize(std::string_view text, bool add_bos,
                                      bool parse_special) const {
  return impl_->text_tokenizer->encode(text, add_bos, parse_special);
}

std::string Engine::detokenize(std::span<const int32_t> tokens) const {
  return impl_->text_tokenizer->decode(tokens);
}

std::string Engine::token_piece(int32_t token) const {
  return impl_->text_tokenizer->token_to_piece(token);
}

int32_t Engine::bos_token() const { return impl_->text_tokenizer->bos(); }

bool Engine::is_end_of_generation(int32_t token) const {
  return impl_->text_tokenizer->is_end_of_generation(token);
}

void detail::EngineState::refuse_on_scheduler_thread(const char* what) const {
  if (scheduler && scheduler->on_scheduler_thread()) {
    throw Error(std::string(what) +
                " cannot be called from a request callback (it runs on the scheduler thread, "
                "between passes)");
  }
}

std::unique_lock<TicketMutex> detail::EngineState::lock(const char* what) {
  refuse_on_scheduler_thread(what);
  return std::unique_lock<TicketMutex>(mutex);
}

SequenceId Engine::create_sequence() {
  auto lock = impl_->lock("create_sequence");
  return impl_->cache->create();
}
SequenceId Engine::fork_sequence(SequenceId parent) {
  auto lock = impl_->lock("fork_sequence");
  return impl_->cache->fork(parent);
}
void Engine::truncate_sequence(SequenceId s, int32_t length) {
  auto lock = impl_->lock("truncate_sequence");
  impl_->cache->truncate(s, length);
}
void Engine::drop_sequence(SequenceId s) {
  auto lock = impl_->lock("drop_sequence");
  impl_->cache->drop(s);
}
int32_t Engine::sequence_length(SequenceId s) const {
  auto lock = impl_->lock("sequence_length");
  return impl_->cache->length(s);
}
KvCacheStats Engine::kv_cache_stats() const {
  auto lock = impl_->lock("kv_cache_stats");
  return impl_->cache->stats();
}

void Engine::decode(std::span<const BatchToken> batch, std::vector<float>& logits) {
  auto lock = impl_->lock("decode");
  impl_->forward_pass->run(batch, logits);
}

std::vector<float> Engine::prefill(SequenceId sequence, std::span<const int32_t> tokens) {
  if (tokens.empty()) throw Error("prefill: no tokens");
  auto lock = impl_->lock("prefill");
  std::vector<BatchToken> batch;
  std::vector<float> logits;
  const size_t chunk = static_cast<size_t>(impl_->options.max_batch_tokens);
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    size_t end = std::min(tokens.size(), begin + chunk);
    int32_t position = impl_->cache->length(sequence);
    batch.clear();
    for (size_t i = begin; i < end; ++i) {
      batch.push_back({tokens[i], position++, sequence, i + 1 == tokens.size()});
    }
    impl_->forward_pass->run(batch, logits);
  }
  return logits;
}

void Engine::write_model(const std::string& path) const {
  if (!impl_->kept_overrides) {
    throw Error("write_model: the engine was loaded without keep_transformed_weights");
  }
  const ModelConfig& c = impl_->config;
  for (int32_t heads : c.layer_kv_heads) {
    if (heads != c.layer_kv_heads.front()) {
      std::string counts;
      for (int32_t h : c.layer_kv_heads) counts += (counts.empty() ? "" : ",") + std::to_string(h);
      throw Error("write_model: the layers have different KV head counts (" + counts +
                  "), and a model file holds one count for all");
    }
  }
  MetadataChanges changes;
  changes.uints[c.architecture + ".attention.head_count_kv"] =
      static_cast<uint32_t>(c.layer_kv_heads.front());
  std::string by;
  for (const auto& plugin : impl_->plugins) {
    if (plugin->kind() != HEARTH_PLUGIN_ATTENTION) continue;
    const PluginInfo info = plugin->info();
    by += (by.empty() ? "" : ", ") + info.name + " " + info.version;
  }
  if (!by.empty()) changes.strings["hearth.transformed_by"] = by;
  write_model_file(*impl_->file, *impl_->kept_overrides, changes, path);
}

}  // namespace hearth
