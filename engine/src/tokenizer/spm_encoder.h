// SentencePiece-style tokenization as llama.cpp does it for "llama" vocabularies: spaces
// become "▁", adjacent pieces merge greedily by the score of the token they form, and
// pieces with no token fall back to <0xXX> byte tokens.
#pragma once

#include <array>

#include "tokenizer/encoder.h"
#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

class SentencePieceEncoder final : public Encoder {
 public:
  explicit SentencePieceEncoder(const Vocabulary& vocab);

  void encode(std::string_view text, bool starts_text, std::vector<int32_t>& out) const override;
  std::string piece(int32_t id) const override;

 private:
  // Appends the ids for a final symbol that is not a token: its bytes, or UNK.
  void append_bytes(std::string_view text, std::vector<int32_t>& out) const;

  TokenIndex index_;
  std::vector<float> scores_;
  std::vector<std::string> texts_;
  std::vector<TokenType> types_;
  std::array<int32_t, 256> byte_tokens_{};
  int32_t unk_ = kNoToken;
  bool add_space_prefix_ = false;
};

}  // namespace hearth::tokenizer
