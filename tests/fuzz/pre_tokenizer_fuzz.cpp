// Fuzz target for the pre-tokenizers: any byte string, under every scheme, must split into
// non-empty words that cover it exactly, without crashing or hanging. The scheme is chosen
// from the input's first byte and length, so the replay's prefixes visit all of them.
// Built as a libFuzzer target with -DHEARTH_FUZZ=ON (clang), and always as a replay
// program that runs the tokenizer vectors' inputs in ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pre_tokenizer.h"

namespace {

const std::vector<std::unique_ptr<hearth::tokenizer::PreTokenizer>>& all_schemes() {
  static const auto schemes = [] {
    std::vector<std::unique_ptr<hearth::tokenizer::PreTokenizer>> list;
    for (std::string_view name : hearth::tokenizer::PreTokenizer::known_names()) {
      list.push_back(std::make_unique<hearth::tokenizer::PreTokenizer>(name));
    }
    return list;
  }();
  return schemes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& schemes = all_schemes();
  const size_t choice = (size > 0 ? data[0] : 0) + size;
  const auto& scheme = *schemes[choice % schemes.size()];
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string joined;
  for (std::string_view word : scheme.split(text)) {
    if (word.empty()) std::abort();
    joined += word;
  }
  if (joined != text) std::abort();
  return 0;
}
