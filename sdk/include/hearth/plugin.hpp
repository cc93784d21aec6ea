// hearth plugin SDK: C++ classes over the C ABI of plugin.h, header-only (C++17 or later).
//
// A plugin derives from one of DecodingPlugin, KnowledgePlugin, AttentionPlugin or
// MetricsPlugin, reads its options in the constructor and ends its source file with
//
//   HEARTH_PLUGIN(MyPlugin, "my_plugin", "1.0", "what it does, in one line")
//
// which defines the descriptor, the vtable and the exported hearth_plugin_entry(). The
// generated trampolines are noexcept: an exception thrown by the plugin becomes a status and a
// message for the host (Error carries its own status; anything else is HEARTH_ERROR_FAILED), so
// no C++ type or exception ever crosses the boundary.
//
// Defining HEARTH_PLUGIN_TARGET_MINOR as 0 before including this header builds a plugin that
// declares ABI 1.0 (its metrics vtable then ends before write_report).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L && __has_include(<span>)
#include <span>
#define HEARTH_SDK_HAS_SPAN 1
#endif

#include "hearth/plugin.h"

#ifndef HEARTH_PLUGIN_TARGET_MINOR
#define HEARTH_PLUGIN_TARGET_MINOR HEARTH_PLUGIN_ABI_MINOR
#endif
static_assert(HEARTH_PLUGIN_TARGET_MINOR >= 0 &&
                  HEARTH_PLUGIN_TARGET_MINOR <= HEARTH_PLUGIN_ABI_MINOR,
              "HEARTH_PLUGIN_TARGET_MINOR names an ABI minor version this header does not know");

namespace hearth::sdk {

inline const char* status_name(hearth_status status) noexcept {
  switch (status) {
    case HEARTH_OK:
      return "ok";
    case HEARTH_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
    case HEARTH_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case HEARTH_ERROR_UNSUPPORTED:
      return "unsupported";
    case HEARTH_ERROR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case HEARTH_ERROR_FAILED:
      return "failed";
  }
  return "unknown status";
}

// The exception a plugin throws to fail a call with a particular status; the trampolines turn
// it into that status and hand what() to the host's set_error().
class Error : public std::runtime_error {
 public:
  explicit Error(hearth_status status) : Error(status, status_name(status)) {}
  Error(hearth_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}

  hearth_status status() const noexcept { return status_; }

 private:
  hearth_status status_;
};

// ---- host services ----------------------------------------------------------------------

struct Shape {
  int64_t rows = 0;
  int64_t cols = 0;
};

// The rows a forward pass returned: borrowed from the host, valid until the next forward().
class Logits {
 public:
  Logits(const float* data, size_t rows, int32_t vocab) noexcept
      : data_(data), rows_(rows), vocab_(vocab) {}

  size_t rows() const noexcept { return rows_; }
  int32_t vocab() const noexcept { return vocab_; }
  // Row i holds vocab() floats, for the i-th batch entry that asked for logits.
  const float* row(size_t i) const {
    if (i >= rows_) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                  "logits row " + std::to_string(i) + " of " + std::to_string(rows_));
    }
    return data_ + i * static_cast<size_t>(vocab_);
  }

 private:
  const float* data_;
  size_t rows_;
  int32_t vocab_;
};

// The host's services table. Every call checks its status and throws Error with the host's
// status; the host's own description of the failure stays on the host's side.
class Host {
 public:
  explicit Host(const hearth_host_services* services) noexcept : services_(services) {}

  const hearth_host_services* services() const noexcept { return services_; }

  void log(hearth_log_level level, const std::string& message) const {
    required(services_->log, "log")(services_->host, level, message.c_str());
  }

  // Describes the current call's failure; the trampolines call it for a thrown exception.
  void set_error(const char* message) const noexcept {
    if (services_->set_error) services_->set_error(services_->host, message);
  }

  // The host's description of the model; layer_kv_heads follows set_layer_kv_heads().
  const hearth_model_desc& model() const {
    const hearth_model_desc* desc = required(services_->model, "model")(services_->host);
    if (!desc) throw Error(HEARTH_ERROR_UNSUPPORTED, "host: no model is loaded");
    return *desc;
  }

  double now() const { return required(services_->now, "now")(services_->host); }

  // The header fields are filled in here, so callers only set what the event says.
  void emit(const hearth_event& event) const {
    hearth_event copy = event;
    copy.struct_size = sizeof(hearth_event);
    copy.abi_major = HEARTH_PLUGIN_ABI_MAJOR;
    copy.abi_minor = HEARTH_PLUGIN_ABI_MINOR;
    required(services_->emit_event, "emit_event")(services_->host, &copy);
  }

  std::vector<int32_t> tokenize(std::string_view text, bool add_bos) const {
    auto tokenize = required(services_->tokenize, "tokenize");
    // A token covers at least one byte, so bytes + BOS + one spare is nearly always enough.
    std::vector<int32_t> tokens(text.size() + 2);
    size_t count = 0;
    for (;;) {
      hearth_status status = tokenize(services_->host, text.data() ? text.data() : "", text.size(),
                                      add_bos ? 1 : 0, tokens.data(), tokens.size(), &count);
      if (status == HEARTH_ERROR_BUFFER_TOO_SMALL && count > tokens.size()) {
        tokens.resize(count);
        continue;
      }
      check(status, "tokenize");
      break;
    }
    tokens.resize(count);
    return tokens;
  }

  std::string detokenize(const int32_t* tokens, size_t count) const {
    auto detokenize = required(services_->detokenize, "detokenize");
    std::string text(count * 8 + 16, '\0');
    size_t length = 0;
    for (;;) {
      hearth_status status =
          detokenize(services_->host, tokens, count, text.data(), text.size(), &length);
      if (status == HEARTH_ERROR_BUFFER_TOO_SMALL && length > text.size()) {
        text.resize(length);
        continue;
      }
      check(status, "detokenize");
      break;
    }
    text.resize(length);
    return text;
  }
  std::string detokenize(const std::vector<int32_t>& tokens) const {
    return detokenize(tokens.data(), tokens.size());
  }
#ifdef HEARTH_SDK_HAS_SPAN
  std::string detokenize(std::span<const int32_t> tokens) const {
    return detokenize(tokens.data(), tokens.size());
  }
#endif

  hearth_sequence_id create_sequence() const {
    hearth_sequence_id sequence = -1;
    check(required(services_->sequence_create, "sequence_create")(services_->host, &sequence),
          "sequence_create");
    return sequence;
  }

  hearth_sequence_id fork(hearth_sequence_id parent) const {
    hearth_sequence_id child = -1;
    check(required(services_->sequence_fork, "sequence_fork")(services_->host, parent, &child),
          "sequence_fork");
    return child;
  }

  // since 1.3
  hearth_sequence_id copy(hearth_sequence_id source) const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, sequence_copy, 3)) {
      throw missing("sequence_copy", 3);
    }
    hearth_sequence_id copy = -1;
    check(required(services_->sequence_copy, "sequence_copy")(services_->host, source, &copy),
          "sequence_copy");
    return copy;
  }

  void truncate(hearth_sequence_id sequence, int32_t length) const {
    check(required(services_->sequence_truncate, "sequence_truncate")(services_->host, sequence,
                                                                      length),
          "sequence_truncate");
  }

  void drop(hearth_sequence_id sequence) const {
    check(required(services_->sequence_drop, "sequence_drop")(services_->host, sequence),
          "sequence_drop");
  }

  // -1 when the sequence does not exist.
  int32_t length(hearth_sequence_id sequence) const {
    return required(services_->sequence_length, "sequence_length")(services_->host, sequence);
  }

  Logits forward(const hearth_batch_token* batch, size_t count) const {
    const float* logits = nullptr;
    size_t rows = 0;
    check(required(services_->forward, "forward")(services_->host, batch, count, &logits, &rows),
          "forward");
    return Logits(logits, rows, model().vocab_size);
  }
  Logits forward(const std::vector<hearth_batch_token>& batch) const {
    return forward(batch.data(), batch.size());
  }
#ifdef HEARTH_SDK_HAS_SPAN
  Logits forward(std::span<const hearth_batch_token> batch) const {
    return forward(batch.data(), batch.size());
  }
#endif
  // Feeds `tokens` into `sequence` from its current length on, `chunk` tokens per forward
  // pass, asking for no logits: how a knowledge plugin fills a prefix. With a `task` name,
  // the host hears how far it has come after every pass (see progress()).
  void prefill(hearth_sequence_id sequence, const std::vector<int32_t>& tokens, size_t chunk,
               const std::string& task = "") const {
    if (chunk == 0) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "prefill: a chunk of 0 tokens");
    const int32_t start = length(sequence);
    const auto total = static_cast<int64_t>(tokens.size());
    std::vector<hearth_batch_token> batch;
    for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
      const size_t end = std::min(tokens.size(), begin + chunk);
      batch.clear();
      for (size_t i = begin; i < end; ++i) {
        batch.push_back({tokens[i], start + static_cast<int32_t>(i), sequence, 0});
      }
      forward(batch);
      if (!task.empty()) progress(task, static_cast<int64_t>(end), total);
    }
  }

  // since 1.5; nothing on older hosts, which show no progress.
  void progress(const std::string& task, int64_t done, int64_t total) const noexcept {
    if (HEARTH_HAS_MEMBER(services_, hearth_host_services, progress, 5) && services_->progress) {
      services_->progress(services_->host, task.c_str(), done, total);
    }
  }

  // since 1.5, attention plugins during transform(): runs the model over `tokens` and calls
  // sink(layer, rows, row_count) with each layer's attention input (row_count rows of dim
  // floats, borrowed for the call). An exception from `sink` stops the run and is rethrown.
  template <class Sink>
  void calibrate(const std::vector<int32_t>& tokens, Sink&& sink) const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, calibrate, 5))
      throw missing("calibrate", 5);
    struct Call {
      Sink& sink;
      std::exception_ptr failure;
    } call{sink, nullptr};
    auto trampoline = [](void* user, int32_t layer, const float* rows, size_t row_count,
                         size_t /*dim*/) {
      auto& c = *static_cast<Call*>(user);
      if (c.failure) return;
      try {
        c.sink(layer, rows, row_count);
      } catch (...) {
        c.failure = std::current_exception();
      }
    };
    const hearth_status status = required(services_->calibrate, "calibrate")(
        services_->host, tokens.data(), tokens.size(), trampoline, &call);
    if (call.failure) std::rethrow_exception(call.failure);
    check(status, "calibrate");
  }

  // since 1.5: the configuration file's folder; "" from the API or an older host.
  std::string config_dir() const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, config_dir, 5) ||
        !services_->config_dir) {
      return "";
    }
    const char* dir = services_->config_dir(services_->host);
    return dir ? dir : "";
  }

  Shape weight_shape(const std::string& name) const {
    Shape shape;
    check(required(services_->weight_shape, "weight_shape")(services_->host, name.c_str(),
                                                            &shape.rows, &shape.cols),
          "weight_shape", name);
    return shape;
  }

  std::vector<float> read_weight(const std::string& name) const {
    Shape shape = weight_shape(name);
    std::vector<float> values(static_cast<size_t>(shape.rows * shape.cols));
    check(required(services_->weight_read, "weight_read")(services_->host, name.c_str(),
                                                          values.data(), values.size()),
          "weight_read", name);
    return values;
  }

  void replace_weight(const std::string& name, const std::vector<float>& values, int64_t rows,
                      int64_t cols) const {
    if (rows < 0 || cols < 0 || values.size() != static_cast<size_t>(rows * cols)) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                  "replace_weight('" + name + "'): " + std::to_string(values.size()) +
                      " values for " + std::to_string(rows) + " x " + std::to_string(cols));
    }
    check(required(services_->weight_replace, "weight_replace")(services_->host, name.c_str(),
                                                                values.data(), rows, cols),
          "weight_replace", name);
  }

  void set_layer_kv_heads(int32_t layer, int32_t kv_heads) const {
    check(required(services_->set_layer_kv_heads, "set_layer_kv_heads")(services_->host, layer,
                                                                        kv_heads),
          "set_layer_kv_heads");
  }

  // since 1.1
  void save_sequence(hearth_sequence_id sequence, const std::string& path) const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, sequence_save, 1)) {
      throw missing("sequence_save");
    }
    check(required(services_->sequence_save, "sequence_save")(services_->host, sequence,
                                                              path.c_str()),
          "sequence_save", path);
  }

  // since 1.1
  hearth_sequence_id load_sequence(const std::string& path) const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, sequence_load, 1)) {
      throw missing("sequence_load");
    }
    hearth_sequence_id sequence = -1;
    check(required(services_->sequence_load, "sequence_load")(services_->host, path.c_str(),
                                                              &sequence),
          "sequence_load", path);
    return sequence;
  }

  // since 1.1
  hearth_memory_stats memory_stats() const {
    if (!HEARTH_HAS_MEMBER(services_, hearth_host_services, memory_stats, 1)) {
      throw missing("memory_stats");
    }
    hearth_memory_stats stats{};
    stats.struct_size = sizeof(hearth_memory_stats);
    stats.abi_major = HEARTH_PLUGIN_ABI_MAJOR;
    stats.abi_minor = HEARTH_PLUGIN_ABI_MINOR;
    required(services_->memory_stats, "memory_stats")(services_->host, &stats);
    return stats;
  }

 private:
  template <class Fn>
  static Fn required(Fn fn, const char* call) {
    if (!fn) throw Error(HEARTH_ERROR_UNSUPPORTED, std::string("host: no ") + call + " service");
    return fn;
  }

  static void check(hearth_status status, const char* call, const std::string& subject = {}) {
    if (status == HEARTH_OK) return;
    std::string message = std::string("host: ") + call;
    if (!subject.empty()) message += "('" + subject + "')";
    message += " failed (status " + std::to_string(static_cast<int>(status)) + ")";
    throw Error(status, message);
  }

  Error missing(const char* call, int since = 1) const {
    return Error(HEARTH_ERROR_UNSUPPORTED, std::string("host: ") + call + " needs ABI 1." +
                                               std::to_string(since) + ", the host offers " +
                                               std::to_string(services_->abi_major) + "." +
                                               std::to_string(services_->abi_minor));
  }

  const hearth_host_services* services_;
};

// ---- options ------------------------------------------------------------------------------

// The plugin's [plugins.options] entries. Each getter marks its key as used, so that
// check_all_used() (called by HEARTH_PLUGIN after the constructor) refuses the rest: a typo
// in a deployment file fails the load instead of being ignored.
class Options {
 public:
  Options() = default;
  Options(const hearth_kv* entries, size_t count) {
    if (count && !entries) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "options: null list");
    for (size_t i = 0; i < count; ++i) {
      if (!entries[i].key || !entries[i].value) {
        throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "options: null key or value");
      }
      entries_.push_back({entries[i].key, entries[i].value, false});
    }
  }
  explicit Options(const std::vector<std::pair<std::string, std::string>>& entries) {
    for (const auto& [key, value] : entries) entries_.push_back({key, value, false});
  }

  bool has(std::string_view key) const { return find(key) != nullptr; }

  std::string get_string(std::string_view key, const std::string& fallback) const {
    const std::string* value = find(key);
    return value ? *value : fallback;
  }

  std::string require_string(std::string_view key) const {
    const std::string* value = find(key);
    if (!value) throw invalid("missing option '" + std::string(key) + "'");
    return *value;
  }

  int64_t get_int(std::string_view key, int64_t fallback,
                  int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max()) const {
    const std::string* text = find(key);
    if (!text) return fallback;
    int64_t value = 0;
    if (!parse(*text, value)) throw malformed(key, "an integer", *text);
    if (value < min || value > max) throw out_of_range(key, *text, min, max);
    return value;
  }

  double get_float(std::string_view key, double fallback,
                   double min = std::numeric_limits<double>::lowest(),
                   double max = std::numeric_limits<double>::max()) const {
    const std::string* text = find(key);
    if (!text) return fallback;
    double value = 0;
    if (!parse(*text, value)) throw malformed(key, "a number", *text);
    if (!(value >= min && value <= max)) throw out_of_range(key, *text, min, max);
    return value;
  }

  bool get_bool(std::string_view key, bool fallback) const {
    const std::string* text = find(key);
    if (!text) return fallback;
    if (*text == "true") return true;
    if (*text == "false") return false;
    throw malformed(key, "true or false", *text);
  }

  // Every key and value as given, in order (for a plugin that reads them again later).
  std::vector<std::pair<std::string, std::string>> entries() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Entry& entry : entries_) out.emplace_back(entry.key, entry.value);
    return out;
  }

  void check_all_used() const {
    for (const Entry& entry : entries_) {
      if (!entry.used) throw invalid("unknown option '" + entry.key + "'");
    }
  }

 private:
  struct Entry {
    std::string key;
    std::string value;
    mutable bool used;
  };

  // The last entry wins, as in TOML tables merged by the host.
  const std::string* find(std::string_view key) const {
    const std::string* value = nullptr;
    for (const Entry& entry : entries_) {
      if (entry.key != key) continue;
      entry.used = true;
      value = &entry.value;
    }
    return value;
  }

  template <class T>
  static bool parse(const std::string& text, T& value) {
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value);
    return error == std::errc() && stop == end && !text.empty();
  }

  static Error invalid(const std::string& message) {
    return Error(HEARTH_ERROR_INVALID_ARGUMENT, message);
  }
  static Error malformed(std::string_view key, const char* what, const std::string& text) {
    return invalid("option '" + std::string(key) + "' must be " + what + ", got '" + text + "'");
  }
  template <class T>
  static Error out_of_range(std::string_view key, const std::string& text, T min, T max) {
    std::string range;
    if (max == std::numeric_limits<T>::max()) {
      range = "at least " + number(min);
    } else if (min == std::numeric_limits<T>::lowest()) {
      range = "at most " + number(max);
    } else {
      range = "between " + number(min) + " and " + number(max);
    }
    return invalid("option '" + std::string(key) + "' must be " + range + ", got " + text);
  }
  static std::string number(int64_t value) { return std::to_string(value); }
  static std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
  }

  std::vector<Entry> entries_;
};

// ---- plugin base classes ------------------------------------------------------------------

namespace detail {
template <class Interface>
struct Adapter;
}

// What every interface shares: the host, and no copies (the host holds a pointer to it).
class PluginBase {
 public:
  explicit PluginBase(Host host) noexcept : host_(host) {}
  PluginBase(const PluginBase&) = delete;
  PluginBase& operator=(const PluginBase&) = delete;
  virtual ~PluginBase() = default;

  const Host& host() const noexcept { return host_; }

 private:
  Host host_;
};

// A request as begin() sees it; the prompt is already in `sequence`'s KV cache.
struct DecodeRequest {
  uint64_t request_id = 0;
  hearth_sequence_id sequence = -1;  // the request's: fork, truncate or drop it
  std::vector<int32_t> prompt;
  const float* prompt_logits = nullptr;  // borrowed for begin(); the first step gets them too
  int32_t max_tokens = -1;               // < 0 = until end of generation or a full context
  // since 1.3: this request's options; for the same key they take the place of the plugin's.
  std::vector<std::pair<std::string, std::string>> options;
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // generated tokens, prompt excluded
  float score = 0;
};

// What one step receives: the rows the previous step asked for, and one row of logits for
// each of them that wanted logits (the first step: no rows, the prompt's logits).
struct DecodeInput {
  const hearth_batch_token* rows = nullptr;
  size_t row_count = 0;
  const float* logits = nullptr;
  size_t logit_rows = 0;
  int32_t vocab_size = 0;
  const float* row(size_t i) const { return logits + i * static_cast<size_t>(vocab_size); }
};

// A step's answer: the rows to feed in the next pass (beside other requests' rows), or
// finished. Fork, truncate and drop sequences through the host while answering; forward()
// is refused here, the host runs the pass.
struct DecodeOutput {
  std::vector<hearth_batch_token> rows;
  bool finished = false;
};

// One request from begin() to its end; the host destroys it when the request ends, whether it
// finished, failed or was cancelled.
class DecodeSession {
 public:
  virtual ~DecodeSession() = default;
  virtual void step(const DecodeInput& input, DecodeOutput& output) = 0;
  // Best hypothesis first; called once, after a step answered finished.
  virtual std::vector<Hypothesis> result() = 0;
};

// A step-wise decoding strategy (ABI 1.2): the host drives each request's session one step
// per forward pass, so its requests share passes with everyone else's.
class DecodingPlugin : public PluginBase {
 public:
  DecodingPlugin(Host host, const Options& /*options*/) noexcept : PluginBase(host) {}
  virtual std::unique_ptr<DecodeSession> begin(const DecodeRequest& request) = 0;
  // since 1.4: before any work for the request (no sequence, no prompt logits yet). Throw
  // to refuse it; return the most KV blocks its sequences may hold beyond the prompt's,
  // which the host keeps free for it (0: none beyond one sequence's).
  virtual int64_t admit(const DecodeRequest& /*request*/) { return 0; }

 private:
  friend struct detail::Adapter<DecodingPlugin>;
  // A result's hypotheses stay here, in the form the host reads, until free_result().
  struct Result {
    std::vector<Hypothesis> hypotheses;
    std::unique_ptr<hearth_hypothesis[]> views;
  };
  std::vector<std::unique_ptr<Result>> results_;
};

class KnowledgePlugin : public PluginBase {
 public:
  KnowledgePlugin(Host host, const Options& /*options*/) noexcept : PluginBase(host) {}
  virtual void build(const std::string& name, const std::vector<std::string>& documents) = 0;
  virtual hearth_sequence_id attach(const std::string& name) = 0;
  virtual void reset(const std::string& name, hearth_sequence_id sequence) = 0;
  virtual void save(const std::string& name, const std::string& path) = 0;
  virtual void restore(const std::string& name, const std::string& path) = 0;
  // since 1.5: the text a request continues prefix `name` with for `question`.
  virtual std::string compose(const std::string& /*name*/, const std::string& question) {
    return question;
  }
  // since 1.5: key/values describing one prefix in full, or every one briefly when `name` is
  // empty; each prefix starts with the key "set".
  virtual std::vector<std::pair<std::string, std::string>> describe(const std::string& /*name*/) {
    return {};
  }

 private:
  friend struct detail::Adapter<KnowledgePlugin>;
  std::vector<std::pair<std::string, std::string>> described_;  // valid until the next call
};

class AttentionPlugin : public PluginBase {
 public:
  AttentionPlugin(Host host, const Options& /*options*/) noexcept : PluginBase(host) {}
  virtual void transform() = 0;
};

class MetricsPlugin : public PluginBase {
 public:
  MetricsPlugin(Host host, const Options& /*options*/) noexcept : PluginBase(host) {}
  // On the engine's thread for every event; keep it quick.
  virtual void on_event(const hearth_event& event) = 0;
  virtual std::vector<std::pair<std::string, std::string>> snapshot() = 0;
  virtual void write_report(const std::string& /*path*/) {
    throw Error(HEARTH_ERROR_UNSUPPORTED, "this plugin writes no report");
  }

 private:
  friend struct detail::Adapter<MetricsPlugin>;
  // The strings of the last snapshot, valid until the next call as the ABI promises.
  std::vector<std::pair<std::string, std::string>> snapshot_;
};

// ---- the C side: trampolines, vtables, descriptor ---------------------------------------

namespace detail {

// Runs `body` and turns any exception into a status plus a message for the host; `body`
// returns void (success) or a status of its own.
template <class Body>
hearth_status guarded(const Host& host, Body&& body) noexcept {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      return HEARTH_OK;
    } else {
      return body();
    }
  } catch (const Error& error) {
    host.set_error(error.what());
    return error.status() == HEARTH_OK ? HEARTH_ERROR_FAILED : error.status();
  } catch (const std::bad_alloc& error) {
    host.set_error(error.what());
    return HEARTH_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& error) {
    host.set_error(error.what());
    return HEARTH_ERROR_FAILED;
  } catch (...) {
    host.set_error("unknown exception");
    return HEARTH_ERROR_FAILED;
  }
}

template <class Interface>
Interface& self_as(hearth_plugin_instance* self) noexcept {
  return *reinterpret_cast<Interface*>(self);
}

inline void require(bool condition, const char* message) {
  if (!condition) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, message);
}
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, message);
}

template <class Vtable>
void fill_header(Vtable& vtable, uint32_t size, uint16_t minor) noexcept {
  vtable.struct_size = size;
  vtable.abi_major = HEARTH_PLUGIN_ABI_MAJOR;
  vtable.abi_minor = minor;
}

template <>
struct Adapter<DecodingPlugin> {
  using Vtable = hearth_decoding_vtable;
  static constexpr hearth_plugin_kind kind = HEARTH_PLUGIN_DECODING;

  // What hearth_decode_state points to: the session and its last answer, whose rows the host
  // reads until the next call.
  struct State {
    std::unique_ptr<DecodeSession> session;
    DecodeOutput output;
  };

  static void install(hearth_plugin_descriptor& descriptor, Vtable& vtable,
                      uint16_t minor) noexcept {
    fill_header(vtable, sizeof(Vtable), minor);
    vtable.run = nullptr;
    vtable.free_result = &free_result;
    vtable.begin = &begin;
    vtable.step = &step;
    vtable.result = &result;
    vtable.end = &end;
    vtable.admit = &admit;
    descriptor.decoding = &vtable;
  }

  // The request as the C++ side sees it; `call` names the entry point in errors.
  static DecodeRequest read_request(const hearth_decode_request* request, const char* call) {
    const std::string where(call);
    require(request != nullptr, where + ": null request");
    require(request->struct_size >= offsetof(hearth_decode_request, max_tokens) + sizeof(int32_t),
            where + ": request too small");
    DecodeRequest decode;
    decode.request_id = request->request_id;
    decode.sequence = request->sequence;
    if (request->prompt_length) {
      require(request->prompt != nullptr, where + ": null prompt");
      decode.prompt.assign(request->prompt, request->prompt + request->prompt_length);
    }
    decode.prompt_logits = request->prompt_logits;
    decode.max_tokens = request->max_tokens;
    if (HEARTH_HAS_MEMBER(request, hearth_decode_request, option_count, 3)) {
      require(!request->option_count || request->options, where + ": null options");
      for (size_t i = 0; i < request->option_count; ++i) {
        require(request->options[i].key && request->options[i].value, where + ": null option");
        decode.options.emplace_back(request->options[i].key, request->options[i].value);
      }
    }
    return decode;
  }

  static hearth_status admit(hearth_plugin_instance* self, const hearth_decode_request* request,
                             int64_t* kv_blocks) noexcept {
    auto& plugin = self_as<DecodingPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(kv_blocks != nullptr, "admit: null kv_blocks");
      *kv_blocks = 0;
      const int64_t blocks = plugin.admit(read_request(request, "admit"));
      require(blocks >= 0, "admit: a negative number of KV blocks");
      *kv_blocks = blocks;
    });
  }

  static State& state_of(hearth_decode_state* state) {
    require(state != nullptr, "null decode state");
    return *reinterpret_cast<State*>(state);
  }

  static hearth_status begin(hearth_plugin_instance* self, const hearth_decode_request* request,
                             hearth_decode_state** state) noexcept {
    auto& plugin = self_as<DecodingPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(state != nullptr, "begin: null state");
      *state = nullptr;
      const DecodeRequest decode = read_request(request, "begin");
      auto made = std::make_unique<State>();
      made->session = plugin.begin(decode);
      require(made->session != nullptr, "begin: the plugin made no session");
      *state = reinterpret_cast<hearth_decode_state*>(made.release());
    });
  }

  static hearth_status step(hearth_plugin_instance* self, hearth_decode_state* state,
                            const hearth_decode_input* input,
                            hearth_decode_output* output) noexcept {
    auto& plugin = self_as<DecodingPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(input && output, "step: null input or output");
      require(input->struct_size >= offsetof(hearth_decode_input, logit_rows) + sizeof(size_t),
              "step: input too small");
      State& s = state_of(state);
      DecodeInput in;
      in.rows = input->rows;
      in.row_count = input->rows ? input->row_count : 0;
      in.logits = input->logits;
      in.logit_rows = input->logit_rows;
      in.vocab_size = plugin.host().model().vocab_size;
      s.output.rows.clear();
      s.output.finished = false;
      s.session->step(in, s.output);
      output->rows = s.output.rows.data();
      output->row_count = s.output.finished ? 0 : s.output.rows.size();
      output->finished = s.output.finished ? 1 : 0;
    });
  }

  static hearth_status result(hearth_plugin_instance* self, hearth_decode_state* state,
                              hearth_decode_result* result) noexcept {
    auto& plugin = self_as<DecodingPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(result != nullptr, "result: null result");
      result->hypotheses = nullptr;
      result->count = 0;
      auto stored = std::make_unique<DecodingPlugin::Result>();
      stored->hypotheses = state_of(state).session->result();
      const size_t count = stored->hypotheses.size();
      // At least one element, so every kept result has a distinct, non-null address.
      stored->views.reset(new hearth_hypothesis[std::max<size_t>(count, 1)]());
      for (size_t i = 0; i < count; ++i) {
        const Hypothesis& hypothesis = stored->hypotheses[i];
        stored->views[i] = {hypothesis.tokens.data(), hypothesis.tokens.size(), hypothesis.score};
      }
      plugin.results_.push_back(std::move(stored));
      result->hypotheses = plugin.results_.back()->views.get();
      result->count = count;
    });
  }

  static void end(hearth_plugin_instance* /*self*/, hearth_decode_state* state) noexcept {
    delete reinterpret_cast<State*>(state);  // a session's destructor must not throw
  }

  static void free_result(hearth_plugin_instance* self, hearth_decode_result* result) noexcept {
    if (!result || !result->hypotheses) return;
    auto& results = self_as<DecodingPlugin>(self).results_;
    auto kept = std::find_if(results.begin(), results.end(), [&](const auto& stored) {
      return stored->views.get() == result->hypotheses;
    });
    if (kept != results.end()) results.erase(kept);
    result->hypotheses = nullptr;
    result->count = 0;
  }
};

template <>
struct Adapter<KnowledgePlugin> {
  using Vtable = hearth_knowledge_vtable;
  static constexpr hearth_plugin_kind kind = HEARTH_PLUGIN_KNOWLEDGE;

  static void install(hearth_plugin_descriptor& descriptor, Vtable& vtable,
                      uint16_t minor) noexcept {
    fill_header(vtable, sizeof(Vtable), minor);
    vtable.build = &build;
    vtable.attach = &attach;
    vtable.reset = &reset;
    vtable.save = &save;
    vtable.restore = &restore;
    vtable.compose = &compose;
    vtable.describe = &describe;
    descriptor.knowledge = &vtable;
  }

  static hearth_status compose(hearth_plugin_instance* self, const char* name, const char* question,
                               char* text, size_t capacity, size_t* length) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name && question && length && (text || capacity == 0),
              "compose: null name, question, text or length");
      const std::string composed = plugin.compose(name, question);
      *length = composed.size();
      if (composed.size() > capacity) return HEARTH_ERROR_BUFFER_TOO_SMALL;
      std::copy(composed.begin(), composed.end(), text);
      return HEARTH_OK;
    });
  }

  static hearth_status describe(hearth_plugin_instance* self, const char* name, hearth_kv* entries,
                                size_t capacity, size_t* count) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(count && (entries || capacity == 0), "describe: null entries or count");
      plugin.described_ = plugin.describe(name ? name : "");
      const auto& values = plugin.described_;
      *count = values.size();
      for (size_t i = 0; i < values.size() && i < capacity; ++i) {
        entries[i] = {values[i].first.c_str(), values[i].second.c_str()};
      }
      return values.size() > capacity ? HEARTH_ERROR_BUFFER_TOO_SMALL : HEARTH_OK;
    });
  }

  static hearth_status build(hearth_plugin_instance* self, const char* name,
                             const char* const* documents, size_t count) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name && (documents || count == 0), "build: null name or documents");
      std::vector<std::string> texts;
      texts.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        require(documents[i] != nullptr, "build: null document");
        texts.emplace_back(documents[i]);
      }
      plugin.build(name, texts);
    });
  }

  static hearth_status attach(hearth_plugin_instance* self, const char* name,
                              hearth_sequence_id* sequence) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name && sequence, "attach: null name or sequence");
      *sequence = plugin.attach(name);
    });
  }

  static hearth_status reset(hearth_plugin_instance* self, const char* name,
                             hearth_sequence_id sequence) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name != nullptr, "reset: null name");
      plugin.reset(name, sequence);
    });
  }

  static hearth_status save(hearth_plugin_instance* self, const char* name,
                            const char* path) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name && path, "save: null name or path");
      plugin.save(name, path);
    });
  }

  static hearth_status restore(hearth_plugin_instance* self, const char* name,
                               const char* path) noexcept {
    auto& plugin = self_as<KnowledgePlugin>(self);
    return guarded(plugin.host(), [&] {
      require(name && path, "restore: null name or path");
      plugin.restore(name, path);
    });
  }
};

template <>
struct Adapter<AttentionPlugin> {
  using Vtable = hearth_attention_vtable;
  static constexpr hearth_plugin_kind kind = HEARTH_PLUGIN_ATTENTION;

  static void install(hearth_plugin_descriptor& descriptor, Vtable& vtable,
                      uint16_t minor) noexcept {
    fill_header(vtable, sizeof(Vtable), minor);
    vtable.transform = &transform;
    descriptor.attention = &vtable;
  }

  static hearth_status transform(hearth_plugin_instance* self) noexcept {
    auto& plugin = self_as<AttentionPlugin>(self);
    return guarded(plugin.host(), [&] { plugin.transform(); });
  }
};

template <>
struct Adapter<MetricsPlugin> {
  using Vtable = hearth_metrics_vtable;
  static constexpr hearth_plugin_kind kind = HEARTH_PLUGIN_METRICS;

  static void install(hearth_plugin_descriptor& descriptor, Vtable& vtable,
                      uint16_t minor) noexcept {
    if (minor == 0) {
      fill_header(vtable, HEARTH_METRICS_VTABLE_SIZE_1_0, minor);
    } else {
      fill_header(vtable, sizeof(Vtable), minor);
      vtable.write_report = &write_report;
    }
    vtable.on_event = &on_event;
    vtable.snapshot = &snapshot;
    descriptor.metrics = &vtable;
  }

  // on_event has no status to return, so a failure is only described through set_error().
  static void on_event(hearth_plugin_instance* self, const hearth_event* event) noexcept {
    auto& plugin = self_as<MetricsPlugin>(self);
    guarded(plugin.host(), [&] {
      require(event != nullptr, "on_event: null event");
      plugin.on_event(*event);
    });
  }

  static hearth_status snapshot(hearth_plugin_instance* self, hearth_kv* entries, size_t capacity,
                                size_t* count) noexcept {
    auto& plugin = self_as<MetricsPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(count && (entries || capacity == 0), "snapshot: null entries or count");
      plugin.snapshot_ = plugin.snapshot();
      const auto& values = plugin.snapshot_;
      *count = values.size();
      for (size_t i = 0; i < values.size() && i < capacity; ++i) {
        entries[i] = {values[i].first.c_str(), values[i].second.c_str()};
      }
      return values.size() > capacity ? HEARTH_ERROR_BUFFER_TOO_SMALL : HEARTH_OK;
    });
  }

  static hearth_status write_report(hearth_plugin_instance* self, const char* path) noexcept {
    auto& plugin = self_as<MetricsPlugin>(self);
    return guarded(plugin.host(), [&] {
      require(path != nullptr, "write_report: null path");
      plugin.write_report(path);
    });
  }
};

template <class Class>
struct InterfaceOf {
  static constexpr int matches =
      std::is_base_of_v<DecodingPlugin, Class> + std::is_base_of_v<KnowledgePlugin, Class> +
      std::is_base_of_v<AttentionPlugin, Class> + std::is_base_of_v<MetricsPlugin, Class>;
  static_assert(matches == 1,
                "a plugin class derives from exactly one of DecodingPlugin, KnowledgePlugin, "
                "AttentionPlugin and MetricsPlugin");
  using type = std::conditional_t<
      std::is_base_of_v<DecodingPlugin, Class>, DecodingPlugin,
      std::conditional_t<std::is_base_of_v<KnowledgePlugin, Class>, KnowledgePlugin,
                         std::conditional_t<std::is_base_of_v<AttentionPlugin, Class>,
                                            AttentionPlugin, MetricsPlugin>>>;
};

template <class Class>
hearth_status create(const hearth_host_services* services, const hearth_kv* options,
                     size_t option_count, hearth_plugin_instance** instance) noexcept {
  using Interface = typename InterfaceOf<Class>::type;
  static_assert(std::is_constructible_v<Class, Host, const Options&>,
                "a plugin class has a public constructor (hearth::sdk::Host, const "
                "hearth::sdk::Options&)");
  if (!instance) return HEARTH_ERROR_INVALID_ARGUMENT;
  *instance = nullptr;
  // Without a 1.0-sized services table there is not even a set_error to report through.
  if (!services || services->abi_major != HEARTH_PLUGIN_ABI_MAJOR ||
      services->struct_size < HEARTH_HOST_SERVICES_SIZE_1_0) {
    return HEARTH_ERROR_INVALID_ARGUMENT;
  }
  Host host(services);
  return guarded(host, [&] {
    Options parsed(options, option_count);
    auto plugin = std::make_unique<Class>(host, parsed);
    parsed.check_all_used();
    Interface* base = plugin.release();
    *instance = reinterpret_cast<hearth_plugin_instance*>(base);
  });
}

template <class Interface>
void destroy(hearth_plugin_instance* instance) noexcept {
  delete reinterpret_cast<Interface*>(instance);
}

// The descriptor and vtable of one plugin library. HEARTH_PLUGIN makes one with internal
// linkage, so two plugins from the same source (e.g. built for different minors) never share
// it even when loaded into one process.
template <class Class>
class Definition {
 public:
  Definition(const char* name, const char* version, const char* description,
             uint16_t minor) noexcept {
    using Interface = typename InterfaceOf<Class>::type;
    descriptor_.struct_size = sizeof(hearth_plugin_descriptor);
    descriptor_.abi_major = HEARTH_PLUGIN_ABI_MAJOR;
    descriptor_.abi_minor = minor;
    descriptor_.name = name;
    descriptor_.version = version;
    descriptor_.description = description;
    descriptor_.kind = Adapter<Interface>::kind;
    descriptor_.create = &create<Class>;
    descriptor_.destroy = &destroy<Interface>;
    Adapter<Interface>::install(descriptor_, vtable_, minor);
  }
  Definition(const Definition&) = delete;
  Definition& operator=(const Definition&) = delete;

  const hearth_plugin_descriptor* descriptor() const noexcept { return &descriptor_; }

 private:
  hearth_plugin_descriptor descriptor_{};
  typename Adapter<typename InterfaceOf<Class>::type>::Vtable vtable_{};
};

}  // namespace detail
}  // namespace hearth::sdk

// Defines the plugin library's descriptor and its one exported symbol. Use once per library,
// at namespace scope.
#define HEARTH_PLUGIN(Class, name, version, description)                                      \
  static const ::hearth::sdk::detail::Definition<Class> hearth_plugin_definition_(            \
      name, version, description, HEARTH_PLUGIN_TARGET_MINOR);                                \
  extern "C" HEARTH_PLUGIN_EXPORT const hearth_plugin_descriptor* hearth_plugin_entry(        \
      uint16_t host_abi_major, uint16_t /*host_abi_minor*/) {                                 \
    return host_abi_major == HEARTH_PLUGIN_ABI_MAJOR ? hearth_plugin_definition_.descriptor() \
                                                     : nullptr;                               \
  }
