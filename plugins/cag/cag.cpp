// cag: cache-augmented generation. A knowledge set's documents are prefilled once into one KV
// sequence, the knowledge prefix; every query forks it (its blocks are shared, nothing is
// copied), prefills only the question, and is cut back to the prefix afterwards.
#include <algorithm>
#include <cctype>
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

// A manifest lists its documents; anything larger than this is not one.
constexpr size_t kMaxManifestBytes = 64 << 20;

class Cag : public hearth::sdk::KnowledgePlugin {
 public:
  Cag(Host host, const Options& options)
      : KnowledgePlugin(host, options), options_(parse_cag_options(options, host.config_dir())) {}

  ~Cag() override {
    for (auto& [name, prefix] : prefixes_) {
      try {
        host().drop(prefix.sequence);
      } catch (...) {
      }
    }
  }

  // With no documents, `name` is a configured set: its files are read now, and with a
  // cache_dir its cache file is used when it matches them; when it does not, it is refused
  // (on_stale = "refuse") or brought up to date and rewritten. With documents, they are the
  // set, kept in memory only (under the set's template if one is configured, else the
  // plugin-wide one). Either way only the positions after the tokens the new prefix shares
  // with what is already at hand (the prefix in memory, or the cache file) are prefilled.
  void build(const std::string& name, const std::vector<std::string>& documents) override {
    const KnowledgeSetConfig* set = configured(name);
    const PromptTemplate& prompt = set ? set->prompt : options_.prompt;
    if (!documents.empty()) {
      std::vector<int32_t> tokens = prefix_tokens(prompt, documents);
      check_fits(name, static_cast<int64_t>(tokens.size()));
      const hearth_sequence_id sequence = update(name, tokens, {});
      keep(name, sequence, std::move(tokens));
      return;
    }
    if (!set) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, unknown_set(name));
    const std::vector<Document> read = read_documents(set->sources);
    std::vector<int32_t> tokens = prefix_tokens(prompt, texts_of(read));
    check_fits(name, static_cast<int64_t>(tokens.size()));
    if (options_.cache_dir.empty()) {
      const hearth_sequence_id sequence = update(name, tokens, {});
      keep(name, sequence, std::move(tokens));
      return;
    }
    const Manifest wanted = describe_cache(prompt, read, tokens);
    CacheFile file = read_cache(name, wanted);
    auto kept = prefixes_.find(name);
    const bool kept_matches = kept != prefixes_.end() && kept->second.tokens == tokens;
    if (kept_matches && file.matches()) return;  // already loaded, and the file agrees
    if (file.matches() && load_cached(name, wanted, file) && file.matches()) {
      host().log(HEARTH_LOG_INFO, "knowledge set '" + name + "': " + std::to_string(tokens.size()) +
                                      " tokens loaded from '" + file.kv_path + "' in " +
                                      seconds(file.load_seconds));
      keep(name, file.sequence, std::move(tokens));
      return;
    }
    const std::string message = "cag: cache file '" + file.path + "' of knowledge set '" + name +
                                "' is not used: " + file.why;
    if (file.present && options_.on_stale == OnStale::refuse) {
      if (file.sequence >= 0) host().drop(file.sequence);
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, message + " (on_stale = \"refuse\")");
    }
    // Part of the file serves when it shares more leading tokens than the prefix at hand.
    const size_t from_memory =
        kept == prefixes_.end() ? 0 : common_prefix(kept->second.tokens, tokens);
    if (file.sequence < 0 && file.reusable > from_memory) load_cached(name, wanted, file);
    Start from_file;
    if (file.sequence >= 0) from_file = {file.sequence, file.reusable};
    const hearth_sequence_id sequence = update(name, tokens, from_file);
    if (file.present) {
      host().log(HEARTH_LOG_WARNING, message + "; rebuilt it (" + std::to_string(last_prefilled_) +
                                         " of " + std::to_string(tokens.size()) +
                                         " tokens recomputed)");
    }
    keep(name, sequence, std::move(tokens));
    try {
      persist(name, wanted, sequence, file.stored_kv_file);
    } catch (const Error& e) {
      // The prefix is ready; only the next start loses. Say so rather than fail the set.
      host().log(HEARTH_LOG_WARNING,
                 "knowledge set '" + name + "' is ready but its cache file " +
                     "was not written (the next start prefills it again): " + e.what());
    }
  }

  // The fork shares the prefix's blocks; its length is remembered, so a reset after the set
  // was updated still cuts the query back to the prefix it started from.
  hearth_sequence_id attach(const std::string& name) override {
    const Prefix& prefix = find(name);
    const hearth_sequence_id sequence = host().fork(prefix.sequence);
    if (attached_.size() >= kMaxRemembered) {
      for (auto it = attached_.begin(); it != attached_.end();) {
        it = host().length(it->first) < 0 ? attached_.erase(it) : std::next(it);
      }
    }
    attached_[sequence] = prefix.length;
    return sequence;
  }

  void reset(const std::string& name, hearth_sequence_id sequence) override {
    const Prefix& prefix = find(name);
    auto attached = attached_.find(sequence);
    host().truncate(sequence, attached != attached_.end() ? attached->second : prefix.length);
  }

  void save(const std::string& name, const std::string& path) override {
    host().save_sequence(find(name).sequence, path);
  }

  void restore(const std::string& name, const std::string& path) override {
    keep(name, host().load_sequence(path), {});  // its tokens are not known: nothing reused
  }

  // A question goes where the template's {question} is; what follows it ("\nAnswer:") ends
  // the query.
  std::string compose(const std::string& name, const std::string& question) override {
    const KnowledgeSetConfig* set = configured(name);
    if (!set && !prefixes_.count(name)) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, unknown_set(name));
    }
    return question + (set ? set->prompt : options_.prompt).after_question;
  }

  std::vector<std::pair<std::string, std::string>> describe(const std::string& name) override {
    std::vector<std::pair<std::string, std::string>> out;
    std::vector<std::string> names;
    for (const KnowledgeSetConfig& set : options_.sets) names.push_back(set.name);
    for (const auto& [held, prefix] : prefixes_) {
      if (!configured(held)) names.push_back(held);
    }
    if (name.empty()) {  // every set, briefly: nothing is read
      for (const std::string& set_name : names) {
        out.emplace_back("set", set_name);
        out.emplace_back("loaded", prefixes_.count(set_name) ? "yes" : "no");
      }
      return out;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, unknown_set(name));
    }
    describe_set(name, out);
    return out;
  }

 private:
  struct Prefix {
    hearth_sequence_id sequence;
    int32_t length;
    std::vector<int32_t> tokens;  // empty when not known (restored from a bare sequence file)
  };

  // A sequence whose first `reusable` positions already hold the KV a new prefix needs.
  struct Start {
    hearth_sequence_id sequence = -1;
    size_t reusable = 0;
  };

  // What the set's cache file offers: the whole prefix (usable), a part of it, or nothing.
  struct CacheFile {
    std::string path;
    bool present = false;              // a manifest exists
    std::string why;                   // why it cannot serve as it is ("" when it can)
    size_t reusable = 0;               // leading positions of it that serve
    uint32_t stored_tokens = 0;        // positions its KV file should hold
    std::string stored_kv_file;        // the KV file its manifest names (replaced on rewrite)
    std::string kv_path;               // ... where it is
    hearth_sequence_id sequence = -1;  // its KV, once load_cached() loaded it
    double load_seconds = 0;           // what loading it took
    bool matches() const { return present && why.empty(); }
  };

  static std::string seconds(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f s", s);
    return text;
  }

  static std::vector<std::string> texts_of(const std::vector<Document>& documents) {
    std::vector<std::string> texts;
    for (const Document& d : documents) texts.push_back(d.text);
    return texts;
  }

  std::vector<int32_t> prefix_tokens(const PromptTemplate& prompt,
                                     const std::vector<std::string>& texts) const {
    std::string text = prompt.before_documents;
    for (size_t i = 0; i < texts.size(); ++i) text += (i ? "\n\n" : "") + texts[i];
    text += prompt.before_question;
    return host().tokenize(text, true);
  }

  // A sequence holding `tokens`' KV: `start`'s (loaded from the file) or the kept prefix's
  // common part, the longer one, then the rest prefilled; `start` is taken over either way.
  // Counts what it prefilled in last_prefilled_.
  hearth_sequence_id update(const std::string& name, const std::vector<int32_t>& tokens,
                            Start start) {
    auto kept = prefixes_.find(name);
    if (kept != prefixes_.end()) {
      const size_t common = common_prefix(kept->second.tokens, tokens);
      if (common > start.reusable || start.sequence < 0) {
        if (start.sequence >= 0) host().drop(start.sequence);
        start = {host().fork(kept->second.sequence), common};
      }
    }
    if (start.sequence < 0) start = {host().create_sequence(), 0};
    try {
      const size_t keep_positions = std::min(start.reusable, tokens.size());
      host().truncate(start.sequence, static_cast<int32_t>(keep_positions));
      const std::vector<int32_t> rest(tokens.begin() + static_cast<std::ptrdiff_t>(keep_positions),
                                      tokens.end());
      host().prefill(start.sequence, rest, static_cast<size_t>(options_.chunk_tokens), name);
      last_prefilled_ = rest.size();
    } catch (...) {
      host().drop(start.sequence);
      throw;
    }
    return start.sequence;
  }

  // What a cache file must have been built from to serve this set now.
  Manifest describe_cache(const PromptTemplate& prompt, const std::vector<Document>& documents,
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
    m.token_ids = tokens;
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

  // What the set's manifest says of `wanted`, without loading its KV file.
  CacheFile read_cache(const std::string& name, const Manifest& wanted) const {
    CacheFile file;
    file.path = manifest_path(name);
    std::ifstream in(file.path, std::ios::binary);
    if (!in) {
      file.why = "there is none yet";
      return file;  // never built here
    }
    file.present = true;
    // Read through the open stream, at most one byte past the largest manifest.
    std::string text;
    char chunk[1 << 16];
    while (text.size() <= kMaxManifestBytes &&
           in.read(chunk, static_cast<std::streamsize>(sizeof chunk)).gcount() > 0) {
      text.append(chunk, static_cast<size_t>(in.gcount()));
    }
    if (text.size() > kMaxManifestBytes) {
      file.why = "it is larger than any manifest (more than " + std::to_string(kMaxManifestBytes) +
                 " bytes)";
      return file;
    }
    const std::optional<Manifest> stored = parse_manifest(text, file.why);
    if (!stored) return file;
    // Only a name this set's writer gives: the name is also what a rewrite removes.
    if (!is_kv_file_of(name, stored->kv_file)) {
      file.why = "it names a KV file that is not this set's ('" + stored->kv_file + "')";
      return file;
    }
    file.stored_kv_file = stored->kv_file;
    file.stored_tokens = stored->tokens;
    file.kv_path = (std::filesystem::path(options_.cache_dir) / stored->kv_file).string();
    std::error_code missing;
    if (!std::filesystem::is_regular_file(file.kv_path, missing)) {
      file.why = "its KV file '" + file.kv_path + "' is missing";
      return file;
    }
    file.why = stale_reason(*stored, wanted);
    file.reusable = reusable_positions(*stored, wanted);
    return file;
  }

  static bool is_kv_file_of(const std::string& name, const std::string& kv_file) {
    const std::string head = name + "-", tail = ".kv";
    if (kv_file.size() != head.size() + 16 + tail.size() || kv_file.rfind(head, 0) != 0 ||
        kv_file.compare(kv_file.size() - tail.size(), tail.size(), tail) != 0) {
      return false;
    }
    for (size_t i = head.size(); i < head.size() + 16; ++i) {
      if (!std::isxdigit(static_cast<unsigned char>(kv_file[i])) ||
          std::isupper(static_cast<unsigned char>(kv_file[i]))) {
        return false;
      }
    }
    return true;
  }

  // Loads `file`'s KV into a new sequence (file.sequence). A damaged or missing file makes it
  // unusable (why, reusable 0) and returns false; a cache with no room for it is an error.
  // When another builder replaced the pair since the manifest was read, the new pair is
  // read once more.
  bool load_cached(const std::string& name, const Manifest& wanted, CacheFile& file) const {
    for (int attempt = 0;; ++attempt) {
      try {
        const double started = host().now();
        file.sequence = host().load_sequence(file.kv_path);
        file.load_seconds = host().now() - started;
      } catch (const Error& e) {
        if (e.status() == HEARTH_ERROR_OUT_OF_MEMORY) throw;
        CacheFile again = attempt == 0 ? read_cache(name, wanted) : CacheFile();
        if (again.present && again.stored_kv_file != file.stored_kv_file &&
            (again.matches() || again.reusable > 0)) {
          file = again;
          continue;
        }
        file.why = "its KV file cannot be used: " + std::string(e.what());
        file.reusable = 0;
        return false;
      }
      if (host().length(file.sequence) != static_cast<int32_t>(file.stored_tokens)) {
        host().drop(file.sequence);
        file.sequence = -1;
        file.reusable = 0;
        file.why = "its KV file '" + file.kv_path + "' holds another number of positions";
        return false;
      }
      return true;
    }
  }

  // Writes the KV file, then the manifest that names it, each through a rename; then removes
  // the KV file the previous manifest named.
  void persist(const std::string& name, Manifest manifest, hearth_sequence_id sequence,
               const std::string& previous_kv_file) const {
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
    const std::filesystem::path folder(options_.cache_dir);
    const std::string kv = (folder / manifest.kv_file).string();
    const std::string temporary = temporary_path(kv);
    const double started = host().now();
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
    try {
      write_atomically(manifest_path(name), manifest_text(manifest));
    } catch (...) {
      if (manifest.kv_file != previous_kv_file) std::filesystem::remove(kv, ec);
      throw;
    }
    const uintmax_t bytes = std::filesystem::file_size(kv, ec);
    host().log(HEARTH_LOG_INFO, "knowledge set '" + name + "': wrote '" + kv + "' (" +
                                    std::to_string(ec ? 0 : bytes) + " bytes) in " +
                                    seconds(host().now() - started));
    // A reader that opened the old pair keeps its open file; the next one sees the new pair.
    if (!previous_kv_file.empty() && previous_kv_file != manifest.kv_file) {
      std::filesystem::remove(folder / previous_kv_file, ec);
    }
  }

  // One set's entries for describe(): its documents and tokens as read now, whether it is
  // loaded, and what its cache file would do.
  void describe_set(const std::string& name,
                    std::vector<std::pair<std::string, std::string>>& out) const {
    out.emplace_back("set", name);
    auto kept = prefixes_.find(name);
    out.emplace_back("loaded", kept == prefixes_.end()
                                   ? "no"
                                   : "yes, " + std::to_string(kept->second.length) + " positions");
    const KnowledgeSetConfig* set = configured(name);
    if (!set) {
      out.emplace_back("documents", "given through the API (kept in memory only)");
      return;
    }
    try {
      const std::vector<Document> read = read_documents(set->sources);
      uint64_t bytes = 0;
      for (const Document& d : read) bytes += d.text.size();
      out.emplace_back("documents",
                       std::to_string(read.size()) + " (" + std::to_string(bytes) + " bytes)");
      for (const Document& d : read) {
        out.emplace_back("document", d.path + " (" + std::to_string(d.text.size()) + " bytes)");
      }
      const std::vector<int32_t> tokens = prefix_tokens(set->prompt, texts_of(read));
      out.emplace_back("tokens", std::to_string(tokens.size()) + " of a context of " +
                                     std::to_string(host().model().context_size));
      if (options_.cache_dir.empty()) {
        out.emplace_back("cache", "none (no cache_dir: built in memory at each start)");
        return;
      }
      out.emplace_back("cache_file", manifest_path(name));
      const CacheFile file = read_cache(name, describe_cache(set->prompt, read, tokens));
      if (file.matches()) {
        out.emplace_back("cache",
                         "valid: matches the documents, loads instead of prefilling "
                         "(its KV checksums are checked then)");
      } else if (!file.present) {
        out.emplace_back("cache", "absent: the first build prefills and writes it");
      } else {
        out.emplace_back(
            "cache",
            "out of date: " + file.why + "; a build recomputes " +
                std::to_string(tokens.size() - std::min(file.reusable, tokens.size())) + " of " +
                std::to_string(tokens.size()) + " tokens" +
                (options_.on_stale == OnStale::refuse ? " (on_stale = \"refuse\": refused instead)"
                                                      : ""));
      }
    } catch (const Error& e) {
      out.emplace_back("error", e.what());
    }
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

  void keep(const std::string& name, hearth_sequence_id sequence, std::vector<int32_t> tokens) {
    auto old = prefixes_.find(name);
    if (old != prefixes_.end()) host().drop(old->second.sequence);
    prefixes_[name] = {sequence, host().length(sequence), std::move(tokens)};
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
  size_t last_prefilled_ = 0;  // tokens the last update() fed the model
  // The prefix length each attached sequence started from; pruned of dropped sequences.
  std::map<hearth_sequence_id, int32_t> attached_;
  static constexpr size_t kMaxRemembered = 1024;
};

}  // namespace
}  // namespace cag

HEARTH_PLUGIN(cag::Cag, "cag", "0.1",
              "cache-augmented generation: knowledge sets prefilled once into the KV cache")
