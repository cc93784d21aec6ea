#include "beam_options.h"

#include <string>

namespace trie_beam {
namespace {

using hearth::sdk::Error;

Error invalid(const std::string& message) { return Error(HEARTH_ERROR_INVALID_ARGUMENT, message); }

EarlyStopping parse_early_stopping(const std::string& text) {
  if (text == "false") return EarlyStopping::heuristic;
  if (text == "true") return EarlyStopping::on_full;
  if (text == "never") return EarlyStopping::never;
  throw invalid("option 'early_stopping' must be true, false or \"never\", not '" + text + "'");
}

// "2" or "2,7" (a TOML list reaches the plugin as its elements joined with commas).
std::vector<int32_t> parse_token_list(const std::string& text, int32_t vocab_size) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '[')) item.erase(0, 1);
    while (!item.empty() && (item.back() == ' ' || item.back() == ']')) item.pop_back();
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) {
      throw invalid("option 'eos_token_id' must be a token id or a list of them, not '" + text +
                    "'");
    }
    if (id < 0 || id >= vocab_size) {
      throw invalid("option 'eos_token_id': token " + item + " is outside the vocabulary (0.." +
                    std::to_string(vocab_size - 1) + ")");
    }
    ids.push_back(static_cast<int32_t>(id));
    start = end + 1;
  }
  return ids;
}

}  // namespace

BeamOptions parse_beam_options(const hearth::sdk::Options& options, int32_t vocab_size) {
  BeamOptions o;
  o.num_beams = static_cast<int32_t>(options.get_int("num_beams", o.num_beams, 1, 256));
  o.length_penalty = options.get_float("length_penalty", o.length_penalty, -100.0, 100.0);
  o.early_stopping = parse_early_stopping(options.get_string("early_stopping", "false"));
  o.num_return_sequences = static_cast<int32_t>(options.get_int("num_return_sequences", 1, 1, 256));
  if (o.num_return_sequences > o.num_beams) {
    throw invalid("option 'num_return_sequences' (" + std::to_string(o.num_return_sequences) +
                  ") must not exceed num_beams (" + std::to_string(o.num_beams) + ")");
  }
  o.max_new_tokens = static_cast<int32_t>(options.get_int("max_new_tokens", -1, -1, 1 << 30));
  if (options.has("eos_token_id")) {
    o.eos_token_ids = parse_token_list(options.require_string("eos_token_id"), vocab_size);
  }
  o.no_repeat_ngram_size =
      static_cast<int32_t>(options.get_int("no_repeat_ngram_size", 0, 0, 1 << 16));
  o.share_kv = options.get_bool("share_kv", true);
  o.reorder_kv = options.get_bool("reorder_kv", false);
  if (o.reorder_kv && o.share_kv) {
    throw invalid("option 'reorder_kv' copies every beam's cache, so it needs share_kv = false");
  }
  options.check_all_used();
  return o;
}

}  // namespace trie_beam
