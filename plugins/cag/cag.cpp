// cag: cache-augmented generation. A knowledge set's documents are prefilled once into one KV
// sequence, the knowledge prefix; every query forks it (its blocks are shared, nothing is
// copied), prefills only the question, and is cut back to the prefix afterwards.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

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

  // With no documents, `name` is a configured set and its files are read now; with
  // documents, they are the set (under the set's template if one is configured, else the
  // plugin-wide one).
  void build(const std::string& name, const std::vector<std::string>& documents) override {
    const KnowledgeSetConfig* set = configured(name);
    std::vector<std::string> texts = documents;
    if (texts.empty()) {
      if (!set) throw Error(HEARTH_ERROR_INVALID_ARGUMENT, unknown_set(name));
      for (Document& d : read_documents(set->sources)) texts.push_back(std::move(d.text));
    }
    const PromptTemplate& prompt = set ? set->prompt : options_.prompt;
    std::string text = prompt.before_documents;
    for (size_t i = 0; i < texts.size(); ++i) text += (i ? "\n\n" : "") + texts[i];
    text += prompt.before_question;
    const std::vector<int32_t> tokens = host().tokenize(text, true);
    check_fits(name, static_cast<int64_t>(tokens.size()));

    const hearth_sequence_id sequence = host().create_sequence();
    try {
      std::vector<hearth_batch_token> batch;
      for (size_t start = 0; start < tokens.size(); start += kPrefillChunk) {
        const size_t end = std::min(tokens.size(), start + kPrefillChunk);
        batch.clear();
        for (size_t i = start; i < end; ++i) {
          batch.push_back({tokens[i], static_cast<int32_t>(i), sequence, 0});
        }
        host().forward(batch);
      }
    } catch (...) {
      host().drop(sequence);
      throw;
    }
    keep(name, sequence);
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
