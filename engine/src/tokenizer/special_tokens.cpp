#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace hearth::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocabulary& vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType type = vocab.token_types[id];
    const std::string& text = vocab.tokens[id];
    if (text.empty()) continue;
    const bool control = type == TokenType::control || type == TokenType::unknown;
    if (!control && type != TokenType::user_defined) continue;
    by_first_byte_[static_cast<uint8_t>(text[0])].push_back({text, id, control});
    any_ = true;
    any_always_ = any_always_ || !control;
  }
  for (auto& candidates : by_first_byte_) {
    std::stable_sort(
        candidates.begin(), candidates.end(),
        [](const Candidate& a, const Candidate& b) { return a.text.size() > b.text.size(); });
  }
}

std::vector<Fragment> SpecialTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  if (!(parse_special ? any_ : any_always_)) {
    fragments.push_back({text, kNoToken});
    return fragments;
  }

  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Candidate* found = nullptr;
    for (const Candidate& candidate : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if (candidate.needs_parse_special && !parse_special) continue;
      if (text.substr(pos).starts_with(candidate.text)) {
        found = &candidate;
        break;
      }
    }
    if (found == nullptr) {
      ++pos;
      continue;
    }
    if (pos > plain_start) {
      fragments.push_back({text.substr(plain_start, pos - plain_start), kNoToken});
    }
    fragments.push_back({{}, found->id});
    pos += found->text.size();
    plain_start = pos;
  }
  if (plain_start < text.size()) fragments.push_back({text.substr(plain_start), kNoToken});
  return fragments;
}

}  // namespace hearth::tokenizer
