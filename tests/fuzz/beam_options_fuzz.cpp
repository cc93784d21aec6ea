// Fuzz target for the trie_beam plugin's option reader: lines of KEY=VALUE, as a deployment's
// [plugins.options] hands them over, must be accepted or refused with an error, never crash,
// hang or allocate without bound. Accepted options must hold the documented ranges. Built as a
// libFuzzer target with -DHEARTH_FUZZ=ON (clang), and always as a replay program in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "beam_options.h"
#include "option_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::pair<std::string, std::string>> entries = option_lines(data, size);
  constexpr int32_t kVocab = 32000;
  try {
    const trie_beam::BeamOptions o =
        trie_beam::parse_beam_options(hearth::sdk::Options(entries), kVocab);
    const bool valid = o.num_beams >= 1 && o.num_return_sequences >= 1 &&
                       o.num_return_sequences <= o.num_beams && o.no_repeat_ngram_size >= 0;
    if (!valid) std::abort();
    for (int32_t id : o.eos_token_ids) {
      if (id < 0 || id >= kVocab) std::abort();
    }
  } catch (const hearth::sdk::Error&) {
  }
  return 0;
}
