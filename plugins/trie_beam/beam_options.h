// The options of one beam search, as Hugging Face's generate(num_beams=k, do_sample=False)
// names them, parsed from the plugin's [plugins.options] and checked before any work.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/plugin.hpp"

namespace trie_beam {

// When a search may stop before its length limit (Hugging Face's early_stopping).
enum class EarlyStopping {
  heuristic,  // false: stop once no running beam could still beat the worst finished one
  on_full,    // true: stop as soon as num_beams hypotheses have finished
  never,      // "never": stop only when no running beam could beat them at the length limit
};

struct BeamOptions {
  int32_t num_beams = 4;
  double length_penalty = 1.0;
  EarlyStopping early_stopping = EarlyStopping::heuristic;
  int32_t num_return_sequences = 1;
  int32_t max_new_tokens = -1;         // < 0: the request's max_tokens, else the context
  std::vector<int32_t> eos_token_ids;  // empty: the model's end-of-generation token
  int32_t no_repeat_ngram_size = 0;    // 0 = off
  // false: every beam holds its own copy of the whole cache (a child copies its parent instead
  // of forking it), as batch beam search does; for comparisons only.
  bool share_kv = true;
  // true (with share_kv false): every beam copies its parent's whole cache at every step, as
  // batch beam search's cache reorder does (Hugging Face's reorder_cache); for comparisons.
  bool reorder_kv = false;
};

// Reads and checks the options (unknown keys, k = 0, num_return_sequences > k and EOS ids
// outside the vocabulary are refused with an error naming the option).
BeamOptions parse_beam_options(const hearth::sdk::Options& options, int32_t vocab_size);

}  // namespace trie_beam
