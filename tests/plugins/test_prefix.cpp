// Test fixture (knowledge): named context prefixes. build() prefills the joined documents
// (BOS first) into a new sequence in chunks of `chunk` tokens (option, default 16, so a
// document takes several forward passes); attach() forks the prefix, reset() truncates a
// forked sequence back to the prefix, save()/restore() go through the host's sequence files.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::Error;
using hearth::sdk::Host;
using hearth::sdk::Options;

class TestPrefix : public hearth::sdk::KnowledgePlugin {
 public:
  TestPrefix(Host host, const Options& options)
      : KnowledgePlugin(host, options), chunk_(options.get_int("chunk", 16, 1, 1 << 20)) {}

  void build(const std::string& name, const std::vector<std::string>& documents) override {
    std::string text;
    for (const std::string& document : documents) {
      if (!text.empty()) text += '\n';
      text += document;
    }
    std::vector<int32_t> tokens = host().tokenize(text, true);
    if (static_cast<int32_t>(tokens.size()) >= host().model().context_size) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "prefix '" + name + "' needs " +
                                                     std::to_string(tokens.size()) +
                                                     " tokens, more than the context holds");
    }
    hearth_sequence_id sequence = host().create_sequence();
    try {
      host().prefill(sequence, tokens, static_cast<size_t>(chunk_));
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

  void keep(const std::string& name, hearth_sequence_id sequence) {
    auto old = prefixes_.find(name);
    if (old != prefixes_.end()) host().drop(old->second.sequence);
    prefixes_[name] = {sequence, host().length(sequence)};
  }

  const Prefix& find(const std::string& name) const {
    auto prefix = prefixes_.find(name);
    if (prefix == prefixes_.end()) {
      throw Error(HEARTH_ERROR_INVALID_ARGUMENT, "no prefix named '" + name + "'");
    }
    return prefix->second;
  }

  int64_t chunk_;
  std::map<std::string, Prefix> prefixes_;
};

}  // namespace

HEARTH_PLUGIN(TestPrefix, "test_prefix", "1.0", "named context prefixes kept in the KV cache")
