// cag: cache-augmented generation. A knowledge set's documents are prefilled once into one KV
// sequence, the knowledge prefix; every query forks it (its blocks are shared, nothing is
// copied), prefills only the question, and is cut back to the prefix afterwards.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cache_file.h"
#include "cag_options.h"
#include "documents.h"
#include "hearth/plugin.hpp"

namespace cag {
namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

// Tokens fed per forward pass while a prefix is prefilled: large enough for the matmul
// kernels' many-token path, small enough for any batch limit.
constexpr size_t kPrefillChunk = 256;
// A manifest lists its documents; anything larger than this is not one.
constexpr size_t kMaxManifestBytes = 64 << 20;

class Cag : public hearth::sdk::KnowledgePlugin {
 public:
  Cag(Host host, const Options& options)
      : KnowledgePlugin(host, options), options_(parse_cag_options(options)) {}

  ~Cag() override {
    for (auto& [name, prefix] : prefixes_) {
      try {
        host().drop(prefix.sequence);
      } catch (...) {
      }
    }
  }

  // With no documents, `name` is a configured set: its files are read now, and with a
  // cache_dir its cache file is used when it matches them, else rebuilt (or refused, per
  // on_stale) and written. With documents, they are the set, kept in memory only (under the
  // set's template if one is configured, else the plugin-wide one).
  void build(const std::string& name, const std::vector<std::string>& documents) override {
    const KnowledgeSetConfig* set = configured(name);
    const PromptTemplate& prompt = set ? set->prompt : options_.prompt;
    if (!documents.empty()) {
      const std::vector<int32_t> tokens = prefix_tokens(prompt, documents);
      check_fits(name, static_cast<int64_t>(tokens.size()));
      keep(name, prefill(tokens));
      return;
    }
    if (!set) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, unknown_set(name));
    const std::vector<Document> read = read_documents(set->sources);
    std::vector<std::string> texts;
    for (const Document& d : read) texts.push_back(d.text);
    const std::vector<int32_t> tokens = prefix_tokens(prompt, texts);
    check_fits(name, static_cast<int64_t>(tokens.size()));
    if (options_.cache_dir.empty()) {
      keep(name, prefill(tokens));
      return;
    }
    const Manifest wanted = describe(prompt, read, tokens);
    if (restore_cached(name, wanted)) return;
    const hearth_sequence_id sequence = prefill(tokens);
    keep(name, sequence);
    persist(name, wanted, sequence);
  }

  hearth_sequence_id attach(const std::string& name) override {
    return host().fork(find(name).sequence);
  }

  void reset(const std::string& name, hearth_sequence_id sequence) override {
    host().truncate(sequence, find(name).length);
  }

  void save(const std::string& name, const std::string& path) override {
    host().save_sequence(find(name).sequence, path);
  }

  void restore(const std::string& name, const std::string& path) override {
    keep(name, host().load_sequence(path));
  }

 private:
  struct Prefix {
    hearth_sequence_id sequence;
    int32_t length;
  };

  std::vector<int32_t> prefix_tokens(const PromptTemplate& prompt,
                                     const std::vector<std::string>& texts) const {
    std::string text = prompt.before_documents;
    for (size_t i = 0; i < texts.size(); ++i) text += (i ? "\n\n" : "") + texts[i];
    text += prompt.before_question;
    return host().tokenize(text, true);
  }

  hearth_sequence_id prefill(const std::vector<int32_t>& tokens) const {
    const hearth_sequence_id sequence = host().create_sequence();
    try {
      host().prefill(sequence, tokens, kPrefillChunk);
    } catch (...) {
      host().drop(sequence);
      throw;
    }
    return sequence;
  }

  // What a cache file must have been built from to serve this set now.
  Manifest describe(const PromptTemplate& prompt, const std::vector<Document>& documents,
                    const std::vector<int32_t>& tokens) const {
    Manifest m;
    const hearth_model_desc& model = host().model();
    m.model_identity = model.identity ? model.identity : "";
    m.kv_element_bytes = kv_element_bytes();
    m.template_hash = fnv1a(prompt.before_documents + '\0' + prompt.before_question + '\0' +
                            prompt.after_question);
    std::string ids(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t));
    m.tokens_hash = fnv1a(ids);
    m.tokens = static_cast<uint32_t>(tokens.size());
    for (const Document& d : documents) m.documents.push_back({d.hash, d.text.size(), d.path});
    return m;
  }

  // Bytes per KV element, from the cache's block size: a cache of f16 and one of f32 give
  // different answers, so a file from one is not used for the other.
  uint32_t kv_element_bytes() const {
    const hearth_memory_stats stats = host().memory_stats();
    const hearth_model_desc& model = host().model();
    uint64_t elements = 0;
    for (int32_t layer = 0; layer < model.layers; ++layer) {
      elements += 2ull * static_cast<uint64_t>(model.layer_kv_heads[layer]) *
                  static_cast<uint64_t>(model.head_dim);
    }
    elements *= static_cast<uint64_t>(std::max(1, stats.kv_block_tokens));
    return elements ? static_cast<uint32_t>(stats.kv_block_bytes / elements) : 0;
  }

  std::string manifest_path(const std::string& name) const {
    return (std::filesystem::path(options_.cache_dir) / (name + ".cag")).string();
  }

  // Loads the set's cache file when it matches `wanted`; false when there is none, or when it
  // is stale or damaged and on_stale says rebuild.
  bool restore_cached(const std::string& name, const Manifest& wanted) {
    const std::string path = manifest_path(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;  // never built here
    std::error_code size_error;
    const uintmax_t size = std::filesystem::file_size(path, size_error);
    std::string why;
    std::string text;
    if (size_error || size > kMaxManifestBytes) {
      // Not read: a file this large is no manifest, and reading it would take its size.
      why = size_error ? "its size cannot be read (" + size_error.message() + ")"
                       : "it is larger than any manifest (" + std::to_string(size) + " bytes)";
    } else {
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::optional<Manifest> stored =
        why.empty() ? parse_manifest(text, why) : std::optional<Manifest>();
    if (stored) why = stale_reason(*stored, wanted);
    if (stored && why.empty()) {
      const std::string kv = (std::filesystem::path(options_.cache_dir) / stored->kv_file).string();
      try {
        const hearth_sequence_id sequence = host().load_sequence(kv);
        if (host().length(sequence) == static_cast<int32_t>(wanted.tokens)) {
          keep(name, sequence);
          return true;
        }
        host().drop(sequence);
        why = "its KV file '" + kv + "' holds another number of positions";
      } catch (const Error& e) {
        why = "its KV file cannot be used: " + std::string(e.what());
      }
    }
    const std::string message =
        "cag: cache file '" + path + "' of knowledge set '" + name + "' is not used: " + why;
    if (options_.on_stale == OnStale::refuse) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, message + " (on_stale = \"refuse\")");
    }
    host().log(HEARTH_LOG_WARNING, message + "; rebuilding it");
    return false;
  }

  // Writes the KV file, then the manifest that names it, each through a rename.
  void persist(const std::string& name, Manifest manifest, hearth_sequence_id sequence) const {
    std::error_code ec;
    std::filesystem::create_directories(options_.cache_dir, ec);
    if (ec) {
      throw Error(HEARTH_ERROR_FAILED,
                  "cag: cannot make cache_dir '" + options_.cache_dir + "': " + ec.message());
    }
    const std::string id = manifest_text(manifest);
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(fnv1a(id)));
    manifest.kv_file = name + "-" + suffix + ".kv";
    const std::string kv = (std::filesystem::path(options_.cache_dir) / manifest.kv_file).string();
    const std::string temporary = temporary_path(kv);
    try {
      host().save_sequence(sequence, temporary);
    } catch (...) {
      std::filesystem::remove(temporary, ec);
      throw;
    }
    std::filesystem::rename(temporary, kv, ec);
    if (ec) {
      std::filesystem::remove(temporary, ec);
      throw Error(HEARTH_ERROR_FAILED, "cag: cannot write '" + kv + "'");
    }
    write_atomically(manifest_path(name), manifest_text(manifest));
  }

  const KnowledgeSetConfig* configured(const std::string& name) const {
    for (const KnowledgeSetConfig& set : options_.sets) {
      if (set.name == name) return &set;
    }
    return nullptr;
  }

  std::string unknown_set(const std::string& name) const {
    std::string known;
    for (const KnowledgeSetConfig& set : options_.sets) {
      known += (known.empty() ? "" : ", ") + set.name;
    }
    return "cag: no knowledge set named '" + name + "' is configured (" +
           (known.empty() ? std::string("none are") : "configured: " + known) +
           "), and no documents were given";
  }

  // The prefix must leave room in the context for a question and its answer.
  void check_fits(const std::string& name, int64_t tokens) const {
    const int64_t context = host().model().context_size;
    const int64_t room =
        options_.query_tokens > 0 ? options_.query_tokens : std::min<int64_t>(512, context / 4);
    if (tokens + room <= context) return;
    throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                "cag: knowledge set '" + name + "' is " + std::to_string(tokens) +
                    " tokens; with " + std::to_string(room) +
                    " more for a question and its answer (query_tokens) that is more than the "
                    "context of " +
                    std::to_string(context) + ": use fewer documents or a larger context");
  }

  void keep(const std::string& name, hearth_sequence_id sequence) {
    auto old = prefixes_.find(name);
    if (old != prefixes_.end()) host().drop(old->second.sequence);
    prefixes_[name] = {sequence, host().length(sequence)};
  }

  const Prefix& find(const std::string& name) const {
    auto prefix = prefixes_.find(name);
    if (prefix == prefixes_.end()) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT,
                  "cag: knowledge set '" + name + "' is not loaded (build it first)");
    }
    return prefix->second;
  }

  CagOptions options_;
  std::map<std::string, Prefix> prefixes_;
};

}  // namespace
}  // namespace cag

HEARTH_PLUGIN(cag::Cag, "cag", "0.1",
              "cache-augmented generation: knowledge sets prefilled once into the KV cache")
