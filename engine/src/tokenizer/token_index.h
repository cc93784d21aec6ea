// Lookup of token ids by text without building a std::string for every query.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth::tokenizer {

class TokenIndex {
 public:
  TokenIndex() = default;
  // When several tokens share a text, the lowest id wins.
  explicit TokenIndex(const std::vector<std::string>& tokens) {
    ids_.reserve(tokens.size());
    for (size_t id = 0; id < tokens.size(); ++id) {
      ids_.try_emplace(tokens[id], static_cast<int32_t>(id));
    }
  }

  // Id of the token spelled `text`, or -1.
  int32_t find(std::string_view text) const {
    const auto it = ids_.find(text);
    return it == ids_.end() ? -1 : it->second;
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

}  // namespace hearth::tokenizer
