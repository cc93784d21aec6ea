// The C API (hearth/hearth.h) over the C++ API: handles own the C++ objects, every entry
// point catches what the C++ side throws and turns it into a status and hearth_last_error().
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/hearth.h"

namespace {

thread_local std::string last_error;

hearth_status status_of(hearth::ErrorCode code) {
  switch (code) {
    case hearth::ErrorCode::invalid_argument:
      return HEARTH_INVALID_ARGUMENT;
    case hearth::ErrorCode::out_of_memory:
      return HEARTH_OUT_OF_MEMORY;
    default:
      return HEARTH_FAILED;
  }
}

// Runs `body`, turning exceptions into a status and the thread's last error.
template <typename Body>
hearth_status guarded(Body&& body) {
  try {
    body();
    return HEARTH_OK;
  } catch (const hearth::Error& e) {
    last_error = e.what();
    return status_of(e.code());
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return HEARTH_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return HEARTH_FAILED;
  }
}

hearth_status refuse(const char* what) {
  last_error = what;
  return HEARTH_INVALID_ARGUMENT;
}

// Copies the caller's struct over the defaults, as far as the caller's struct_size reaches:
// a program built against an older (shorter) struct leaves the newer fields at their defaults.
template <typename Params>
bool read_params(const Params* given, Params& out, Params defaults) {
  out = defaults;
  if (!given) return true;
  const size_t size = given->struct_size;
  if (size < sizeof(size_t) || size > (size_t{1} << 16)) return false;
  std::memcpy(&out, given, std::min(given->struct_size, sizeof(Params)));
  out.struct_size = sizeof(Params);
  return true;
}

std::vector<std::string> split(const char* text, char separator) {
  std::vector<std::string> parts;
  if (!text) return parts;
  std::string part;
  for (const char* c = text;; ++c) {
    if (*c == separator || *c == 0) {
      if (!part.empty()) parts.push_back(part);
      part.clear();
      if (*c == 0) break;
    } else {
      part += *c;
    }
  }
  return parts;
}

// Plugins installed beside the library (<libdir>/hearth/plugins), found from where this
// library was loaded, so an embedding program finds them as the installed hearth does.
std::string plugins_beside_library() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&hearth_api_version), &info) || !info.dli_fname) return "";
  std::error_code ec;
  const auto dir = std::filesystem::path(info.dli_fname).parent_path() / "hearth" / "plugins";
  return std::filesystem::is_directory(dir, ec) ? dir.string() : "";
}

// The buffer convention: what fits is written; otherwise nothing and minus what is needed.
int32_t fill(const std::string& text, char* out, int32_t capacity) {
  if (text.size() > INT32_MAX - 1) {
    last_error = "the text is longer than an int32_t can count";
    return INT32_MIN;
  }
  const int32_t size = static_cast<int32_t>(text.size());
  if (!out || capacity < size + 1) return -size;
  std::memcpy(out, text.data(), text.size());
  out[size] = 0;
  return size;
}

}  // namespace

struct hearth_request {
  explicit hearth_request(hearth_engine* e) : engine(e) {}
  hearth_engine* engine;
  std::optional<hearth::Request> request;
  std::mutex mutex;         // guards what follows
  std::string untaken;      // polled text not yet copied out
  bool has_result = false;  // result and status below are set
  hearth::GenerationResult result;
  hearth_status status = HEARTH_OK;
  std::string error;
};

struct hearth_engine {
  std::unique_ptr<hearth::Engine> engine;
  std::mutex mutex;  // guards requests
  std::set<hearth_request*> requests;
};

namespace {

// Waits for a request and keeps what it ended with; true once it has.
bool settle(hearth_request* r, std::optional<std::chrono::milliseconds> timeout) {
  {
    std::lock_guard lock(r->mutex);
    if (r->has_result) return true;
  }
  hearth::GenerationResult result;
  hearth_status status = HEARTH_OK;
  std::string error;
  try {
    if (timeout) {
      auto done = r->request->wait_for(*timeout);
      if (!done) return false;
      result = std::move(*done);
    } else {
      result = r->request->wait();
    }
  } catch (const hearth::Error& e) {
    status = status_of(e.code());
    error = e.what();
  } catch (const std::exception& e) {
    status = HEARTH_FAILED;
    error = e.what();
  }
  std::lock_guard lock(r->mutex);
  if (!r->has_result) {
    r->result = std::move(result);
    r->status = status;
    r->error = std::move(error);
    r->has_result = true;
  }
  return true;
}

const hearth::GenerationResult* result_of(const hearth_request* r) {
  if (!r) return nullptr;
  auto* request = const_cast<hearth_request*>(r);
  std::lock_guard lock(request->mutex);
  return request->has_result ? &request->result : nullptr;
}

}  // namespace

extern "C" {

int32_t hearth_api_version(void) { return HEARTH_C_API_VERSION; }

const char* hearth_last_error(void) { return last_error.c_str(); }

hearth_engine_params hearth_engine_default_params(void) {
  hearth_engine_params p{};
  p.struct_size = sizeof p;
  p.batch_size = 512;
  return p;
}

hearth_status hearth_engine_load(const hearth_engine_params* given, hearth_engine** out) {
  if (!out) return refuse("hearth_engine_load: engine is NULL");
  *out = nullptr;
  hearth_engine_params p;
  if (!read_params(given, p, hearth_engine_default_params())) {
    return refuse(
        "hearth_engine_load: params->struct_size is not a struct size (fill params "
        "from hearth_engine_default_params())");
  }
  if (!p.model_path) return refuse("hearth_engine_load: params->model_path is NULL");
  return guarded([&] {
    hearth::EngineOptions o;
    o.model_path = p.model_path;
    if (p.chat_template_path) o.chat_template_path = p.chat_template_path;
    o.plugin_dirs = split(p.plugin_dirs, ':');
    if (std::string beside = plugins_beside_library(); !beside.empty()) {
      o.plugin_dirs.push_back(beside);
    }
    for (const std::string& name : split(p.plugins, ',')) {
      hearth::PluginConfig plugin;
      plugin.name = name;
      o.plugins.push_back(plugin);
    }
    o.threads = p.threads;
    o.context_size = p.context_size;
    o.max_batch_tokens = p.batch_size;
    o.kv_cache_bytes = p.kv_cache_bytes;
    if (p.device) o.device = p.device;
    if (p.on_load_progress) {
      o.on_load_progress = [f = p.on_load_progress, u = p.user_data](float x) { f(x, u); };
    }
    auto engine = std::make_unique<hearth_engine>();
    engine->engine = hearth::Engine::load(o);
    *out = engine.release();
  });
}

void hearth_engine_free(hearth_engine* engine) {
  if (!engine) return;
  std::vector<hearth_request*> live;
  {
    std::lock_guard lock(engine->mutex);
    live.assign(engine->requests.begin(), engine->requests.end());
  }
  for (hearth_request* r : live) r->request->cancel();
  for (hearth_request* r : live) {
    settle(r, std::nullopt);
    std::lock_guard lock(engine->mutex);
    r->engine = nullptr;  // the handle outlives the engine; its result stays readable
  }
  delete engine;
}

int32_t hearth_engine_context_size(const hearth_engine* e) {
  return e ? e->engine->model_info().context_size : 0;
}
int32_t hearth_engine_vocab_size(const hearth_engine* e) {
  return e ? e->engine->model_info().vocab_size : 0;
}
int32_t hearth_engine_bos_token(const hearth_engine* e) { return e ? e->engine->bos_token() : -1; }
const char* hearth_engine_model_name(const hearth_engine* e) {
  return e ? e->engine->model_info().name.c_str() : "";
}

int32_t hearth_tokenize(const hearth_engine* e, const char* text, size_t length, bool add_bos,
                        bool parse_special, int32_t* tokens, int32_t capacity) {
  if (!e || (!text && length)) {
    last_error = "hearth_tokenize: engine or text is NULL";
    return INT32_MIN;
  }
  std::vector<int32_t> ids;
  if (guarded([&] {
        ids =
            e->engine->tokenize(std::string_view(text ? text : "", length), add_bos, parse_special);
      }) != HEARTH_OK) {
    return INT32_MIN;
  }
  const auto n = static_cast<int32_t>(ids.size());
  if (!tokens || capacity < n) return -n;
  std::copy(ids.begin(), ids.end(), tokens);
  return n;
}

int32_t hearth_detokenize(const hearth_engine* e, const int32_t* tokens, int32_t count, char* text,
                          int32_t capacity) {
  if (!e || (!tokens && count) || count < 0) {
    last_error = "hearth_detokenize: engine or tokens is NULL, or count < 0";
    return INT32_MIN;
  }
  std::string out;
  if (guarded([&] {
        out = e->engine->detokenize(std::span<const int32_t>(tokens, static_cast<size_t>(count)));
      }) != HEARTH_OK) {
    return INT32_MIN;
  }
  return fill(out, text, capacity);
}

int32_t hearth_render_chat(const hearth_engine* e, const char* messages_json,
                           bool add_generation_prompt, char* text, int32_t capacity) {
  if (!e || !messages_json) {
    last_error = "hearth_render_chat: engine or messages_json is NULL";
    return INT32_MIN;
  }
  std::string out;
  if (guarded([&] {
        nlohmann::ordered_json messages;
        try {
          messages = nlohmann::ordered_json::parse(messages_json);
        } catch (const nlohmann::json::parse_error& error) {
          throw hearth::Error(std::string("hearth_render_chat: messages_json is not JSON: ") +
                              error.what());
        }
        out = e->engine->render_chat(messages, add_generation_prompt);
      }) != HEARTH_OK) {
    return INT32_MIN;
  }
  return fill(out, text, capacity);
}

hearth_generation_params hearth_generation_default_params(void) {
  const hearth::GenerationOptions d;
  hearth_generation_params p{};
  p.struct_size = sizeof p;
  p.max_tokens = d.max_tokens;
  p.temperature = d.sampling.temperature;
  p.top_k = d.sampling.top_k;
  p.top_p = d.sampling.top_p;
  p.min_p = d.sampling.min_p;
  p.repeat_penalty = d.sampling.repeat_penalty;
  p.repeat_last_n = d.sampling.repeat_last_n;
  p.seed = -1;
  p.add_bos = d.add_bos;
  p.parse_special = d.parse_special;
  p.ignore_eos = d.ignore_eos;
  p.num_return_sequences = 1;
  p.length_penalty = 1.0f;
  p.logprobs = d.logprobs;
  return p;
}

hearth_status hearth_submit(hearth_engine* e, const char* prompt,
                            const hearth_generation_params* given, hearth_text_callback on_text,
                            void* user_data, hearth_request** out) {
  if (!out) return refuse("hearth_submit: request is NULL");
  *out = nullptr;
  if (!e || !prompt) return refuse("hearth_submit: engine or prompt is NULL");
  hearth_generation_params p;
  if (!read_params(given, p, hearth_generation_default_params())) {
    return refuse(
        "hearth_submit: params->struct_size is not a struct size (fill params from "
        "hearth_generation_default_params())");
  }
  if (p.stop_count && !p.stop) return refuse("hearth_submit: params->stop is NULL");
  if (p.seed < -1) return refuse("hearth_submit: params->seed must be -1 (random) or >= 0");
  return guarded([&] {
    hearth::GenerationOptions g;
    g.max_tokens = p.max_tokens;
    g.sampling.temperature = p.temperature;
    g.sampling.top_k = p.top_k;
    g.sampling.top_p = p.top_p;
    g.sampling.min_p = p.min_p;
    g.sampling.repeat_penalty = p.repeat_penalty;
    g.sampling.repeat_last_n = p.repeat_last_n;
    if (p.seed >= 0) g.sampling.seed = static_cast<uint64_t>(p.seed);
    for (size_t i = 0; i < p.stop_count; ++i) {
      if (!p.stop[i])
        throw hearth::Error("hearth_submit: params->stop[" + std::to_string(i) + "] is NULL");
      g.stop.emplace_back(p.stop[i]);
    }
    g.add_bos = p.add_bos;
    g.parse_special = p.parse_special;
    g.ignore_eos = p.ignore_eos;
    g.logprobs = p.logprobs;
    if (p.num_beams < 0) throw hearth::Error("hearth_submit: params->num_beams must be >= 0");
    if (p.num_beams > 0) {
      g.strategy = "trie_beam";
      g.strategy_options = {{"num_beams", std::to_string(p.num_beams)},
                            {"num_return_sequences", std::to_string(p.num_return_sequences)},
                            {"length_penalty", std::to_string(p.length_penalty)}};
    } else {
      g.strategy = "sampling";
    }
    std::string text = prompt;
    if (p.knowledge && *p.knowledge) {
      g.knowledge_prefix = p.knowledge;
      text = e->engine->knowledge_compose(p.knowledge, text);
    }
    auto r = std::make_unique<hearth_request>(e);
    hearth::RequestCallbacks callbacks;
    if (on_text) {
      callbacks.on_text = [f = on_text, u = user_data](std::string_view piece) {
        return f(piece.data(), piece.size(), u);
      };
    }
    r->request = e->engine->submit(text, g, std::move(callbacks));
    {
      std::lock_guard lock(e->mutex);
      e->requests.insert(r.get());
    }
    *out = r.release();
  });
}

hearth_request_state hearth_request_get_state(const hearth_request* r) {
  if (!r) return HEARTH_REQUEST_FAILED;
  switch (r->request->state()) {
    case hearth::RequestState::queued:
      return HEARTH_REQUEST_QUEUED;
    case hearth::RequestState::running:
      return HEARTH_REQUEST_RUNNING;
    case hearth::RequestState::finished:
      return HEARTH_REQUEST_FINISHED;
    case hearth::RequestState::cancelled:
      return HEARTH_REQUEST_CANCELLED;
    default:
      return HEARTH_REQUEST_FAILED;
  }
}

void hearth_request_cancel(hearth_request* r) {
  if (r) r->request->cancel();
}

size_t hearth_request_take_text(hearth_request* r, char* buffer, size_t capacity) {
  if (!r || !buffer) return 0;
  std::lock_guard lock(r->mutex);
  r->untaken += r->request->take_text();
  const size_t n = std::min(capacity, r->untaken.size());
  std::memcpy(buffer, r->untaken.data(), n);
  r->untaken.erase(0, n);
  return n;
}

hearth_status hearth_request_wait(hearth_request* r, int32_t timeout_ms) {
  if (!r) return refuse("hearth_request_wait: request is NULL");
  std::optional<std::chrono::milliseconds> timeout;
  if (timeout_ms >= 0) timeout = std::chrono::milliseconds(timeout_ms);
  if (!settle(r, timeout)) return HEARTH_TIMED_OUT;
  std::lock_guard lock(r->mutex);
  if (r->status != HEARTH_OK) last_error = r->error;
  return r->status;
}

const char* hearth_request_text(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? result->text.c_str() : "";
}

hearth_stop_reason hearth_request_stop_reason(const hearth_request* r) {
  const auto* result = result_of(r);
  if (!result) return HEARTH_STOP_CANCELLED;
  switch (result->stop_reason) {
    case hearth::StopReason::end_of_generation:
      return HEARTH_STOP_END_OF_GENERATION;
    case hearth::StopReason::stop_string:
      return HEARTH_STOP_STRING;
    case hearth::StopReason::max_tokens:
      return HEARTH_STOP_MAX_TOKENS;
    case hearth::StopReason::context_full:
      return HEARTH_STOP_CONTEXT_FULL;
    default:
      return HEARTH_STOP_CANCELLED;
  }
}

int32_t hearth_request_prompt_tokens(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? result->stats.prompt_tokens : 0;
}
int32_t hearth_request_generated_tokens(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? result->stats.generated_tokens : 0;
}
uint64_t hearth_request_seed(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? result->seed : 0;
}
int32_t hearth_request_hypothesis_count(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? static_cast<int32_t>(result->hypotheses.size()) : 0;
}
const char* hearth_request_hypothesis_text(const hearth_request* r, int32_t index) {
  const auto* result = result_of(r);
  if (!result || index < 0 || static_cast<size_t>(index) >= result->hypotheses.size()) return "";
  return result->hypotheses[static_cast<size_t>(index)].text.c_str();
}
double hearth_request_hypothesis_score(const hearth_request* r, int32_t index) {
  const auto* result = result_of(r);
  if (!result || index < 0 || static_cast<size_t>(index) >= result->hypotheses.size()) return 0;
  return result->hypotheses[static_cast<size_t>(index)].score;
}

namespace {
const hearth::TokenLogprob* logprob_at(const hearth_request* r, int32_t index) {
  const auto* result = result_of(r);
  if (!result || index < 0 || static_cast<size_t>(index) >= result->logprobs.size()) {
    return nullptr;
  }
  return &result->logprobs[static_cast<size_t>(index)];
}
}  // namespace

int32_t hearth_request_logprob_count(const hearth_request* r) {
  const auto* result = result_of(r);
  return result ? static_cast<int32_t>(result->logprobs.size()) : 0;
}
float hearth_request_logprob(const hearth_request* r, int32_t index, int32_t* token) {
  const hearth::TokenLogprob* t = logprob_at(r, index);
  if (token) *token = t ? t->token : -1;
  return t ? t->logprob : 0;
}
int32_t hearth_request_top_logprob_count(const hearth_request* r, int32_t index) {
  const hearth::TokenLogprob* t = logprob_at(r, index);
  return t ? static_cast<int32_t>(t->top.size()) : 0;
}
float hearth_request_top_logprob(const hearth_request* r, int32_t index, int32_t rank,
                                 int32_t* token) {
  const hearth::TokenLogprob* t = logprob_at(r, index);
  const bool ok = t && rank >= 0 && static_cast<size_t>(rank) < t->top.size();
  if (token) *token = ok ? t->top[static_cast<size_t>(rank)].first : -1;
  return ok ? t->top[static_cast<size_t>(rank)].second : 0;
}

void hearth_request_free(hearth_request* r) {
  if (!r) return;
  r->request->cancel();
  settle(r, std::nullopt);
  if (hearth_engine* e = r->engine) {
    std::lock_guard lock(e->mutex);
    e->requests.erase(r);
  }
  delete r;
}

}  // extern "C"
