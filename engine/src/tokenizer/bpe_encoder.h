// GPT-2 style byte-level BPE: the pre-tokenizer splits text into words, each word's bytes
// start as single-byte tokens, and the adjacent pair with the best-ranked merge is
// combined until no merge applies.
#pragma once

#include <array>
#include <unordered_map>

#include "tokenizer/encoder.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

class BytePairEncoder final : public Encoder {
 public:
  // Throws hearth::Error naming the merge when one is not of the form "left right".
  explicit BytePairEncoder(const Vocabulary& vocab);

  void encode(std::string_view text, bool starts_text, std::vector<int32_t>& out) const override;
  std::string piece(int32_t id) const override;

 private:
  struct Merge {
    int32_t rank;    // position in tokenizer.ggml.merges: lower merges first
    int32_t result;  // the token the pair becomes
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int32_t left, int32_t right) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  PreTokenizer pre_tokenizer_;
  TokenIndex index_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<std::string> texts_;
  std::vector<TokenType> types_;
  std::array<int32_t, 256> byte_tokens_{};  // token of each byte's byte-level character
  int32_t unk_ = kNoToken;
};

}  // namespace hearth::tokenizer
