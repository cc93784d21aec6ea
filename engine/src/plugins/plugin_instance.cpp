#include "plugins/plugin_instance.h"

#include <cstdio>

#include "hearth/text.h"
#include "kv_cache/kv_cache.h"
#include "plugins/abi_struct.h"

namespace hearth::plugins {

PluginInstance::PluginInstance(LoadedLibrary library, EngineServices& engine,
                               const PluginConfig& config)
    : library_(std::move(library)), required_(config.required) {
  host_.engine = &engine;
  host_.plugin_name = library_.descriptor->name;
  host_.config_dir = config.config_dir;
  services_ = make_services(&host_);
  std::vector<hearth_kv> options;
  for (const auto& [key, value] : config.options) options.push_back({key.c_str(), value.c_str()});
  host_.error.clear();
  hearth_status status =
      library_.descriptor->create(&services_, options.data(), options.size(), &instance_);
  if (status == HEARTH_OK && !instance_) {
    host_.error = "create() returned no instance";
    status = HEARTH_ERROR_FAILED;
  }
  if (status != HEARTH_OK) {
    throw PluginRefused(library_.path + ": plugin '" + host_.plugin_name + "' refused its " +
                        (status == HEARTH_ERROR_INVALID_ARGUMENT ? "options" : "creation") + ": " +
                        (host_.error.empty() ? "no reason given" : host_.error));
  }
}

PluginInstance::~PluginInstance() {
  if (instance_) library_.descriptor->destroy(instance_);
}

PluginInfo PluginInstance::info() const {
  const auto* d = library_.descriptor;
  return {d->name,
          d->version ? d->version : "",
          d->description ? d->description : "",
          kind_name(d->kind),
          library_.path,
          leaked_sequences_};
}

void PluginInstance::check(const char* call, hearth_status status) {
  if (status == HEARTH_OK) return;
  throw Error("plugin '" + host_.plugin_name + "': " + call + " failed (status " +
              std::to_string(static_cast<int>(status)) + ")" +
              (host_.error.empty() ? "" : ": " + host_.error));
}

namespace {

// Points the host's sequence record at `created` for the length of one call.
class RecordSequences {
 public:
  RecordSequences(hearth_host& host, std::vector<int32_t>& created, bool refuse_forward)
      : host_(host) {
    host_.created_sequences = &created;
    host_.forward_refused = refuse_forward;
  }
  ~RecordSequences() {
    host_.created_sequences = nullptr;
    host_.forward_refused = false;
  }

 private:
  hearth_host& host_;
};

}  // namespace

bool PluginInstance::decodes_step_wise() const {
  const auto* v = library_.descriptor->decoding;
  return HEARTH_HAS_MEMBER(v, hearth_decoding_vtable, end, 2) && v->begin && v->step && v->result &&
         v->end;
}

std::vector<Hypothesis> PluginInstance::take_result(const char* call,
                                                    hearth_decode_result& result) {
  const auto* v = library_.descriptor->decoding;
  struct Free {
    PluginInstance& self;
    const hearth_decoding_vtable* v;
    hearth_decode_result& result;
    ~Free() {
      if (HEARTH_HAS_MEMBER(v, hearth_decoding_vtable, free_result, 0) && v->free_result) {
        v->free_result(self.instance_, &result);
      }
    }
  } free_result{*this, v, result};
  std::vector<Hypothesis> out;
  if (result.count > 0 && !result.hypotheses) {
    throw Error("plugin '" + host_.plugin_name + "': " + call + " returned " +
                std::to_string(result.count) + " hypotheses but no array");
  }
  for (size_t i = 0; i < result.count; ++i) {
    const auto& h = result.hypotheses[i];
    if (h.length > 0 && !h.tokens) {
      throw Error("plugin '" + host_.plugin_name + "': hypothesis " + std::to_string(i) +
                  " has a length but no tokens");
    }
    out.push_back({std::vector<int32_t>(h.tokens, h.tokens + h.length), h.score});
  }
  return out;
}

std::vector<Hypothesis> PluginInstance::decode_run(const hearth_decode_request& request,
                                                   std::vector<int32_t>& created) {
  hearth_decode_result result{nullptr, 0};
  host_.error.clear();
  hearth_status status;
  {
    RecordSequences record(host_, created, false);
    status = library_.descriptor->decoding->run(instance_, &request, &result);
  }
  check("decoding.run", status);
  return take_result("decoding.run", result);
}

int64_t PluginInstance::decode_admit(const hearth_decode_request& request) {
  const auto* v = library_.descriptor->decoding;
  if (!HEARTH_HAS_MEMBER(v, hearth_decoding_vtable, admit, 4) || !v->admit) return 0;
  int64_t blocks = 0;
  host_.error.clear();
  // Nothing may be made or run yet: the request has no sequence.
  std::vector<int32_t> created;
  hearth_status status;
  {
    RecordSequences record(host_, created, true);
    status = v->admit(instance_, &request, &blocks);
  }
  if (KvCache* cache = host_.engine->kv_cache()) {
    for (int32_t sequence : created) {
      if (cache->contains(sequence)) cache->drop(sequence);
    }
  }
  if (status == HEARTH_OK && !created.empty()) {
    host_.error = "admit() made sequences, which only begin() and step() may";
    status = HEARTH_ERROR_FAILED;
  }
  if (status == HEARTH_ERROR_INVALID_ARGUMENT) {
    throw Error("plugin '" + host_.plugin_name + "' refused the request" +
                    (host_.error.empty() ? "" : ": " + host_.error),
                ErrorCode::invalid_argument);
  }
  check("decoding.admit", status);
  if (blocks < 0) throw Error("plugin '" + host_.plugin_name + "': admit() gave negative blocks");
  return blocks;
}

hearth_decode_state* PluginInstance::decode_begin(const hearth_decode_request& request,
                                                  std::vector<int32_t>& created) {
  hearth_decode_state* state = nullptr;
  host_.error.clear();
  hearth_status status;
  {
    RecordSequences record(host_, created, true);
    status = library_.descriptor->decoding->begin(instance_, &request, &state);
  }
  if (status == HEARTH_OK && !state) {
    host_.error = "begin() returned no state";
    status = HEARTH_ERROR_FAILED;
  }
  if (status != HEARTH_OK && state) decode_end(state);
  check("decoding.begin", status);
  return state;
}

bool PluginInstance::decode_step(hearth_decode_state* state, std::span<const BatchToken> fed,
                                 std::span<const float> logits, std::vector<BatchToken>& next,
                                 std::vector<int32_t>& created) {
  const size_t vocab = static_cast<size_t>(host_.engine->model_desc().vocab_size);
  fed_rows_.clear();
  for (const BatchToken& b : fed) {
    fed_rows_.push_back({b.token, b.position, b.sequence, b.wants_logits ? 1 : 0});
  }
  auto input = make_abi_struct<hearth_decode_input>();
  input.rows = fed_rows_.data();
  input.row_count = fed_rows_.size();
  input.logits = logits.data();
  input.logit_rows = logits.size() / vocab;
  auto output = make_abi_struct<hearth_decode_output>();
  host_.error.clear();
  hearth_status status;
  {
    RecordSequences record(host_, created, true);
    status = library_.descriptor->decoding->step(instance_, state, &input, &output);
  }
  check("decoding.step", status);
  next.clear();
  if (output.finished) return true;
  if (output.row_count > 0 && !output.rows) {
    throw Error("plugin '" + host_.plugin_name + "': decoding.step answered " +
                std::to_string(output.row_count) + " rows but no array");
  }
  if (output.row_count == 0) {
    throw Error("plugin '" + host_.plugin_name +
                "': decoding.step answered neither rows nor finished");
  }
  const size_t limit = static_cast<size_t>(host_.engine->max_batch_tokens());
  if (output.row_count > limit) {
    throw Error("plugin '" + host_.plugin_name + "': decoding.step answered " +
                std::to_string(output.row_count) + " rows, more than the batch size of " +
                std::to_string(limit));
  }
  for (size_t i = 0; i < output.row_count; ++i) {
    const hearth_batch_token& r = output.rows[i];
    next.push_back({r.token, r.position, r.sequence, r.wants_logits != 0});
  }
  return false;
}

std::vector<Hypothesis> PluginInstance::decode_result(hearth_decode_state* state,
                                                      std::vector<int32_t>& created) {
  hearth_decode_result result{nullptr, 0};
  host_.error.clear();
  hearth_status status;
  {
    RecordSequences record(host_, created, true);
    status = library_.descriptor->decoding->result(instance_, state, &result);
  }
  check("decoding.result", status);
  return take_result("decoding.result", result);
}

void PluginInstance::decode_end(hearth_decode_state* state) noexcept {
  library_.descriptor->decoding->end(instance_, state);
}

void PluginInstance::note_leaked_sequences(int32_t count) {
  if (count <= 0) return;
  if (leaked_sequences_ == 0) {
    std::fprintf(stderr, "hearth: plugin '%s' left sequences behind; the host drops them\n",
                 printable(host_.plugin_name).c_str());
  }
  leaked_sequences_ += count;
}

void PluginInstance::knowledge_build(const std::string& prefix,
                                     const std::vector<std::string>& documents) {
  std::vector<const char*> texts;
  for (const auto& d : documents) texts.push_back(d.c_str());
  host_.error.clear();
  check("knowledge.build", library_.descriptor->knowledge->build(instance_, prefix.c_str(),
                                                                 texts.data(), texts.size()));
}

int32_t PluginInstance::knowledge_attach(const std::string& prefix) {
  hearth_sequence_id sequence = -1;
  host_.error.clear();
  check("knowledge.attach",
        library_.descriptor->knowledge->attach(instance_, prefix.c_str(), &sequence));
  return sequence;
}

void PluginInstance::knowledge_reset(const std::string& prefix, int32_t sequence) {
  host_.error.clear();
  check("knowledge.reset",
        library_.descriptor->knowledge->reset(instance_, prefix.c_str(), sequence));
}

void PluginInstance::knowledge_save(const std::string& prefix, const std::string& path) {
  host_.error.clear();
  check("knowledge.save",
        library_.descriptor->knowledge->save(instance_, prefix.c_str(), path.c_str()));
}

void PluginInstance::knowledge_restore(const std::string& prefix, const std::string& path) {
  host_.error.clear();
  check("knowledge.restore",
        library_.descriptor->knowledge->restore(instance_, prefix.c_str(), path.c_str()));
}

std::string PluginInstance::knowledge_compose(const std::string& prefix,
                                              const std::string& question) {
  const auto* k = library_.descriptor->knowledge;
  if (!HEARTH_HAS_MEMBER(k, hearth_knowledge_vtable, compose, 5) || !k->compose) return question;
  std::string text(question.size() + 256, '\0');
  for (int attempt = 0;; ++attempt) {
    size_t length = 0;
    host_.error.clear();
    const hearth_status status =
        k->compose(instance_, prefix.c_str(), question.c_str(), text.data(), text.size(), &length);
    if (status == HEARTH_ERROR_BUFFER_TOO_SMALL && length > text.size() && attempt == 0) {
      text.resize(length);
      continue;
    }
    check("knowledge.compose", status);
    if (length > text.size()) check("knowledge.compose", HEARTH_ERROR_FAILED);
    text.resize(length);
    return text;
  }
}

std::vector<std::pair<std::string, std::string>> PluginInstance::knowledge_describe(
    const std::string& prefix) {
  const auto* k = library_.descriptor->knowledge;
  if (!HEARTH_HAS_MEMBER(k, hearth_knowledge_vtable, describe, 5) || !k->describe) return {};
  std::vector<hearth_kv> entries(64);
  for (int attempt = 0;; ++attempt) {
    size_t count = 0;
    host_.error.clear();
    const hearth_status status = k->describe(instance_, prefix.empty() ? nullptr : prefix.c_str(),
                                             entries.data(), entries.size(), &count);
    if (status == HEARTH_ERROR_BUFFER_TOO_SMALL && count > entries.size() && attempt == 0) {
      entries.resize(count);
      continue;
    }
    check("knowledge.describe", status);
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < count && i < entries.size(); ++i) {
      out.emplace_back(entries[i].key ? entries[i].key : "",
                       entries[i].value ? entries[i].value : "");
    }
    return out;
  }
}

void PluginInstance::transform() {
  host_.error.clear();
  check("attention.transform", library_.descriptor->attention->transform(instance_));
}

void PluginInstance::on_event(const hearth_event& event) noexcept {
  // Event types newer than the plugin's ABI are not sent: it could not know what they mean.
  if (event.type == HEARTH_EVENT_DECODE_STEP && library_.descriptor->abi_minor < 3) return;
  host_.error.clear();
  library_.descriptor->metrics->on_event(instance_, &event);
  if (!host_.error.empty() && !event_failure_logged_) {
    event_failure_logged_ = true;
    std::fprintf(stderr, "hearth: plugin '%s': on_event failed: %s (further failures not shown)\n",
                 printable(host_.plugin_name).c_str(), printable(host_.error).c_str());
  }
}

std::vector<std::pair<std::string, std::string>> PluginInstance::snapshot() {
  const auto* v = library_.descriptor->metrics;
  size_t count = 0;
  std::vector<hearth_kv> entries(64);
  host_.error.clear();
  hearth_status status = v->snapshot(instance_, entries.data(), entries.size(), &count);
  if (status == HEARTH_ERROR_BUFFER_TOO_SMALL && count > entries.size()) {
    entries.resize(count);
    host_.error.clear();
    status = v->snapshot(instance_, entries.data(), entries.size(), &count);
  }
  check("metrics.snapshot", status);
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < std::min(count, entries.size()); ++i) {
    out.emplace_back(entries[i].key ? entries[i].key : "",
                     entries[i].value ? entries[i].value : "");
  }
  return out;
}

bool PluginInstance::has_report() const {
  const auto* v = library_.descriptor->metrics;
  return HEARTH_HAS_MEMBER(v, hearth_metrics_vtable, write_report, 1) && v->write_report;
}

void PluginInstance::write_report(const std::string& path) {
  if (!has_report()) {
    throw Error("plugin '" + host_.plugin_name + "' does not write reports (built against ABI " +
                std::to_string(library_.descriptor->metrics->abi_major) + "." +
                std::to_string(library_.descriptor->metrics->abi_minor) + ")");
  }
  host_.error.clear();
  hearth_status status = library_.descriptor->metrics->write_report(instance_, path.c_str());
  if (status == HEARTH_ERROR_UNSUPPORTED) {
    throw Error("plugin '" + host_.plugin_name + "' does not write reports" +
                (host_.error.empty() ? "" : " (" + host_.error + ")"));
  }
  check("metrics.write_report", status);
}

}  // namespace hearth::plugins
