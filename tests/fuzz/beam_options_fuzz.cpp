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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> entries;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const size_t equals = line.find('=');
    if (equals != std::string::npos)
      entries.push_back({line.substr(0, equals), line.substr(equals + 1)});
    start = end + 1;
  }
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
