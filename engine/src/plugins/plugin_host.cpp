// The services every plugin receives. Each one checks the phase and its arguments, turns
// engine exceptions into a status plus a message (set_error), and never lets an exception
// cross into plugin code.
#include "plugins/plugin_host.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#include "hearth/error.h"
#include "hearth/text.h"
#include "kv_cache/kv_cache.h"
#include "model/weight_overrides.h"
#include "plugins/abi_struct.h"
#include "tokenizer/tokenizer.h"

namespace hearth::plugins {
namespace {

using Phase = hearth_host::Phase;

// Runs `body`, mapping exceptions to a status and the host's error message.
template <typename Body>
hearth_status guarded(hearth_host* host, Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    host->error = e.what();
    switch (e.code()) {
      case ErrorCode::invalid_argument:
        return HEARTH_ERROR_INVALID_ARGUMENT;
      case ErrorCode::out_of_memory:
        return HEARTH_ERROR_OUT_OF_MEMORY;
      case ErrorCode::failed:
        return HEARTH_ERROR_FAILED;
    }
    return HEARTH_ERROR_FAILED;
  } catch (const std::bad_alloc& e) {
    host->error = e.what();
    return HEARTH_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    host->error = e.what();
    return HEARTH_ERROR_FAILED;
  } catch (...) {
    host->error = "unknown failure";
    return HEARTH_ERROR_FAILED;
  }
}

hearth_status unsupported(hearth_host* host, const char* what) {
  host->error =
      std::string(what) + " is not available " +
      (host->phase == Phase::loading ? "while the model is loading" : "once the model is loaded");
  return HEARTH_ERROR_UNSUPPORTED;
}

bool log_debug() {
  const char* level = std::getenv("HEARTH_LOG");
  return level && std::strcmp(level, "debug") == 0;
}

void log(hearth_host* host, hearth_log_level level, const char* message) {
  static const bool debug = log_debug();
  if (level == HEARTH_LOG_DEBUG && !debug) return;
  static const char* kNames[] = {"debug", "info", "warning", "error"};
  const char* name = level >= 0 && level <= 3 ? kNames[level] : "info";
  std::fprintf(stderr, "hearth: plugin '%s' %s: %s\n", printable(host->plugin_name).c_str(), name,
               printable(message ? message : "").c_str());
}

// A plugin often reports a failed service call in its own words; keep the host's reason too.
void set_error(hearth_host* host, const char* message) {
  std::string text = message ? message : "";
  if (!host->error.empty() && text.find(host->error) == std::string::npos) {
    text += (text.empty() ? "" : ": ") + host->error;
  }
  host->error = std::move(text);
}

const hearth_model_desc* model(hearth_host* host) { return &host->engine->model_desc(); }

double now(hearth_host*) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Copies only what the plugin's struct holds, so an older plugin's smaller event is safe.
void emit_event(hearth_host* host, const hearth_event* event) {
  if (!event || event->abi_major != HEARTH_PLUGIN_ABI_MAJOR ||
      event->struct_size < offsetof(hearth_event, source) + sizeof(event->source)) {
    return;
  }
  hearth_event copy{};
  std::memcpy(&copy, event, std::min<size_t>(event->struct_size, sizeof copy));
  copy.struct_size = sizeof copy;
  copy.source = host->plugin_name.c_str();
  if (!copy.device) copy.device = host->engine->device_name().c_str();
  host->engine->emit(copy, host);
}

hearth_status tokenize(hearth_host* host, const char* text, size_t length, int32_t add_bos,
                       int32_t* tokens, size_t capacity, size_t* count) {
  return guarded(host, [&] {
    if ((!text && length) || (!tokens && capacity)) throw Error("tokenize: NULL buffer");
    auto ids = host->engine->tokenizer().encode({text ? text : "", length}, add_bos != 0, false);
    if (count) *count = ids.size();
    if (ids.size() > capacity) return HEARTH_ERROR_BUFFER_TOO_SMALL;
    if (!ids.empty()) std::memcpy(tokens, ids.data(), ids.size() * sizeof(int32_t));
    return HEARTH_OK;
  });
}

hearth_status detokenize(hearth_host* host, const int32_t* tokens, size_t count, char* text,
                         size_t capacity, size_t* length) {
  return guarded(host, [&] {
    if ((!tokens && count) || (!text && capacity)) throw Error("detokenize: NULL buffer");
    std::string out = host->engine->tokenizer().decode({tokens, count});
    if (length) *length = out.size();
    if (out.size() > capacity) return HEARTH_ERROR_BUFFER_TOO_SMALL;
    if (!out.empty()) std::memcpy(text, out.data(), out.size());
    return HEARTH_OK;
  });
}

template <typename Body>
hearth_status with_cache(hearth_host* host, const char* what, Body&& body) {
  if (host->phase != Phase::ready) return unsupported(host, what);
  return guarded(host, [&] {
    KvCache* cache = host->engine->kv_cache();
    if (!cache) throw Error(std::string(what) + ": the KV cache does not exist yet");
    body(*cache);
    return HEARTH_OK;
  });
}

hearth_status sequence_create(hearth_host* host, hearth_sequence_id* sequence) {
  return with_cache(host, "sequence_create", [&](KvCache& c) {
    if (!sequence) throw Error("sequence_create: NULL result pointer");
    *sequence = c.create();
    if (host->created_sequences) host->created_sequences->push_back(*sequence);
  });
}

hearth_status sequence_fork(hearth_host* host, hearth_sequence_id parent,
                            hearth_sequence_id* child) {
  return with_cache(host, "sequence_fork", [&](KvCache& c) {
    if (!child) throw Error("sequence_fork: NULL result pointer");
    *child = c.fork(parent);
    if (host->created_sequences) host->created_sequences->push_back(*child);
  });
}

hearth_status sequence_copy(hearth_host* host, hearth_sequence_id source,
                            hearth_sequence_id* copy) {
  return with_cache(host, "sequence_copy", [&](KvCache& c) {
    if (!copy) throw Error("sequence_copy: NULL result pointer");
    *copy = c.copy(source);
    if (host->created_sequences) host->created_sequences->push_back(*copy);
  });
}

hearth_status sequence_truncate(hearth_host* host, hearth_sequence_id sequence, int32_t length) {
  return with_cache(host, "sequence_truncate", [&](KvCache& c) { c.truncate(sequence, length); });
}

hearth_status sequence_drop(hearth_host* host, hearth_sequence_id sequence) {
  return with_cache(host, "sequence_drop", [&](KvCache& c) { c.drop(sequence); });
}

int32_t sequence_length(hearth_host* host, hearth_sequence_id sequence) {
  const KvCache* cache = host->engine->kv_cache();
  if (host->phase != Phase::ready || !cache || !cache->contains(sequence)) return -1;
  return cache->length(sequence);
}

hearth_status forward(hearth_host* host, const hearth_batch_token* batch, size_t count,
                      const float** logits, size_t* rows) {
  if (host->phase != Phase::ready) return unsupported(host, "forward");
  if (host->forward_refused) {
    host->error =
        "forward is not available to a step-wise decoding plugin: return the rows from step() "
        "and the host feeds them in its next pass";
    return HEARTH_ERROR_UNSUPPORTED;
  }
  return guarded(host, [&] {
    if (!batch || count == 0) throw Error("forward: empty batch");
    std::vector<BatchToken> tokens(count);
    for (size_t i = 0; i < count; ++i) {
      tokens[i] = {batch[i].token, batch[i].position, batch[i].sequence,
                   batch[i].wants_logits != 0};
    }
    host->engine->forward(tokens, host->logits);
    host->forwarded_tokens += count;
    if (logits) *logits = host->logits.data();
    if (rows) *rows = host->logits.size() / host->engine->model_desc().vocab_size;
    return HEARTH_OK;
  });
}

hearth_status weight_shape(hearth_host* host, const char* name, int64_t* rows, int64_t* cols) {
  if (!host->engine->weight_overrides()) return unsupported(host, "weight access");
  return guarded(host, [&] {
    if (!rows || !cols) throw Error("weight_shape: NULL result pointer");
    host->engine->weight_overrides()->shape(name ? name : "", *rows, *cols);
    return HEARTH_OK;
  });
}

hearth_status weight_read(hearth_host* host, const char* name, float* values, size_t count) {
  if (!host->engine->weight_overrides()) return unsupported(host, "weight access");
  return guarded(host, [&] {
    if (!values && count) throw Error("weight_read: NULL buffer");
    auto data = host->engine->weight_overrides()->read(name ? name : "");
    if (count < data.size()) {
      host->error = "weight_read: '" + std::string(name) + "' has " + std::to_string(data.size()) +
                    " values, the buffer holds " + std::to_string(count);
      return HEARTH_ERROR_BUFFER_TOO_SMALL;
    }
    std::memcpy(values, data.data(), data.size() * sizeof(float));
    return HEARTH_OK;
  });
}

hearth_status weight_replace(hearth_host* host, const char* name, const float* values, int64_t rows,
                             int64_t cols) {
  if (!host->engine->weight_overrides()) return unsupported(host, "weight access");
  return guarded(host, [&] {
    if (!values || rows <= 0 || cols <= 0 || rows > (int64_t{1} << 40) / cols) {
      throw Error("weight_replace: no values or an impossible shape");
    }
    int64_t old_rows = 0, old_cols = 0;
    host->engine->weight_overrides()->shape(name ? name : "", old_rows, old_cols);
    // A replacement changes head counts, never grows a tensor: this bounds what is read.
    if (rows * cols > old_rows * old_cols) {
      throw Error("weight_replace: '" + std::string(name) + "' may not grow beyond " +
                  std::to_string(old_rows) + " x " + std::to_string(old_cols));
    }
    host->engine->weight_overrides()->replace(name, {values, values + rows * cols}, rows, cols);
    return HEARTH_OK;
  });
}

hearth_status set_layer_kv_heads(hearth_host* host, int32_t layer, int32_t kv_heads) {
  if (!host->engine->weight_overrides()) return unsupported(host, "set_layer_kv_heads");
  return guarded(host, [&] {
    const hearth_model_desc& m = host->engine->model_desc();
    if (layer < 0 || layer >= m.layers)
      throw Error("set_layer_kv_heads: no layer " + std::to_string(layer));
    if (kv_heads <= 0 || m.heads % kv_heads != 0) {
      throw Error("set_layer_kv_heads: " + std::to_string(kv_heads) +
                  " KV heads do not divide the " + std::to_string(m.heads) + " query heads");
    }
    host->engine->set_layer_kv_heads(layer, kv_heads);
    return HEARTH_OK;
  });
}

hearth_status sequence_save(hearth_host* host, hearth_sequence_id sequence, const char* path) {
  return with_cache(host, "sequence_save", [&](KvCache& c) {
    c.save(sequence, path ? path : "", host->engine->model_identity());
  });
}

hearth_status sequence_load(hearth_host* host, const char* path, hearth_sequence_id* sequence) {
  return with_cache(host, "sequence_load", [&](KvCache& c) {
    if (!sequence) throw Error("sequence_load: NULL result pointer");
    *sequence = c.load(path ? path : "", host->engine->model_identity());
    if (host->created_sequences) host->created_sequences->push_back(*sequence);
  });
}

// The caller sets struct_size; a caller built against an older ABI gets only what it has room for.
void memory_stats_service(hearth_host* host, hearth_memory_stats* stats) {
  if (!stats || stats->struct_size < offsetof(hearth_memory_stats, weight_bytes)) return;
  hearth_memory_stats full = host->engine->memory_stats();
  const uint32_t size = std::min<uint32_t>(stats->struct_size, sizeof full);
  full.struct_size = size;
  std::memcpy(stats, &full, size);
}

void progress(hearth_host* host, const char* task, int64_t done, int64_t total) {
  try {
    host->engine->progress(host->plugin_name + ": " + (task ? task : ""), done, total);
  } catch (...) {
    // Progress is for people watching; a failure to show it must not fail the work.
  }
}

const char* config_dir(hearth_host* host) { return host->config_dir.c_str(); }

// The calibration pass needs the weights as plugins are changing them, so only during
// transform(); its tokens are bounded by the context the model was configured with.
hearth_status calibrate(hearth_host* host, const int32_t* tokens, size_t count,
                        void (*sink)(void*, int32_t, const float*, size_t, size_t), void* user) {
  if (!host->engine->weight_overrides()) return unsupported(host, "calibrate");
  return guarded(host, [&] {
    if (!sink || (count && !tokens)) throw Error("calibrate: NULL tokens or sink");
    const int32_t context = host->engine->model_desc().context_size;
    if (count == 0 || count > static_cast<size_t>(context)) {
      throw Error("calibrate: " + std::to_string(count) + " tokens; 1 to the context (" +
                  std::to_string(context) + ") may be run");
    }
    const size_t dim = static_cast<size_t>(host->engine->model_desc().dim);
    host->engine->calibrate({tokens, count}, [&](int32_t layer, std::span<const float> rows) {
      sink(user, layer, rows.data(), count, dim);
    });
    host->forwarded_tokens += count;  // fed through the model, if on the host
    return HEARTH_OK;
  });
}

}  // namespace

hearth_memory_stats memory_stats(uint64_t weight_bytes, const KvCache* cache) {
  auto s = make_abi_struct<hearth_memory_stats>();
  s.weight_bytes = weight_bytes;
  if (cache) {
    KvCacheStats kv = cache->stats();
    s.kv_capacity_bytes = kv.capacity_bytes;
    s.kv_live_bytes = kv.live_bytes;
    s.kv_shared_bytes = kv.shared_bytes;
    s.kv_sequences = kv.sequences;
    s.kv_block_bytes = kv.block_bytes;
    s.kv_block_tokens = kv.block_tokens;
    s.kv_free_blocks = kv.total_blocks - kv.used_blocks;
  }
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (statm >> pages >> resident) {
    s.process_rss_bytes = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  }
  return s;
}

hearth_host_services make_services(hearth_host* host) {
  auto s = make_abi_struct<hearth_host_services>();
  s.host = host;
  s.log = log;
  s.set_error = set_error;
  s.model = model;
  s.now = now;
  s.emit_event = emit_event;
  s.tokenize = tokenize;
  s.detokenize = detokenize;
  s.sequence_create = sequence_create;
  s.sequence_fork = sequence_fork;
  s.sequence_truncate = sequence_truncate;
  s.sequence_drop = sequence_drop;
  s.sequence_length = sequence_length;
  s.forward = forward;
  s.weight_shape = weight_shape;
  s.weight_read = weight_read;
  s.weight_replace = weight_replace;
  s.set_layer_kv_heads = set_layer_kv_heads;
  s.sequence_save = sequence_save;
  s.sequence_load = sequence_load;
  s.memory_stats = memory_stats_service;
  s.sequence_copy = sequence_copy;
  s.progress = progress;
  s.config_dir = config_dir;
  s.calibrate = calibrate;
  return s;
}

}  // namespace hearth::plugins
