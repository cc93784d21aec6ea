// Finds the literal texts of special tokens in the input before normal tokenization, so
// "<|endoftext|>" becomes one token instead of being spelled out.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

struct Fragment {
  std::string_view text;     // plain text, never empty, when token == kNoToken
  int32_t token = kNoToken;  // a matched special token
};

class SpecialTokenMatcher {
 public:
  // Control and unknown tokens match only when parsing special tokens; user-defined
  // (added) tokens always match, as Hugging Face tokenizers and llama.cpp treat them.
  explicit SpecialTokenMatcher(const Vocabulary& vocab);

  // Splits `text` at the special tokens it contains, scanning left to right and taking the
  // longest token that starts at each position.
  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Candidate {
    std::string text;
    int32_t id;
    bool needs_parse_special;
  };
  // Candidates by first byte, longest first, so the first match found is the longest.
  std::array<std::vector<Candidate>, 256> by_first_byte_;
  bool any_always_ = false;
  bool any_ = false;
};

}  // namespace hearth::tokenizer
