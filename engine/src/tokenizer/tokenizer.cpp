#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "hearth/error.h"
#include "tokenizer/encoder.h"
#include "tokenizer/special_tokens.h"

namespace hearth {
namespace {

// Control tokens that end a turn in common chat formats; models often stop on these
// rather than on their EOS token, and not every file names them in tokenizer.ggml.*.
constexpr std::array<std::string_view, 9> kEndOfTurnTexts = {
    "<|eot_id|>",    "<|eom_id|>",      "<|im_end|>", "<|end|>",    "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>",      "<|return|>",
};

}  // namespace

Tokenizer::Tokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {
  validate_vocabulary(vocab_);
  encoder_ = tokenizer::make_encoder(vocab_);
  special_tokens_ = std::make_unique<tokenizer::SpecialTokenMatcher>(vocab_);
  pieces_.reserve(vocab_.tokens.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) pieces_.push_back(encoder_->piece(id));

  for (int32_t id : {vocab_.eos, vocab_.eot, vocab_.eom}) {
    if (id != kNoToken) end_of_generation_.push_back(id);
  }
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    if (vocab_.token_types[id] != TokenType::control) continue;
    if (std::find(kEndOfTurnTexts.begin(), kEndOfTurnTexts.end(), vocab_.tokens[id]) !=
        kEndOfTurnTexts.end()) {
      end_of_generation_.push_back(id);
    }
  }
  std::sort(end_of_generation_.begin(), end_of_generation_.end());
  end_of_generation_.erase(std::unique(end_of_generation_.begin(), end_of_generation_.end()),
                           end_of_generation_.end());
}

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_bos && vocab_.bos != kNoToken) ids.push_back(vocab_.bos);
  bool starts_text = true;
  for (const tokenizer::Fragment& fragment : special_tokens_->split(text, parse_special)) {
    if (fragment.token != kNoToken) {
      ids.push_back(fragment.token);
      starts_text = true;
    } else {
      encoder_->encode(fragment.text, starts_text, ids);
      starts_text = false;
    }
  }
  return ids;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_.size()) {
    throw Error("token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                std::to_string(vocab_.size()) + " tokens)");
  }
}

bool Tokenizer::strips_leading_space(int32_t id) const {
  if (vocab_.model != "llama" || !vocab_.add_space_prefix) return false;
  const TokenType type = vocab_.token_types[id];
  return type == TokenType::normal || type == TokenType::undefined ||
         type == TokenType::user_defined;
}

bool Tokenizer::append_decoded(int32_t id, bool first_piece, bool render_special,
                               std::string& out) const {
  const TokenType type = vocab_.token_types[id];
  const bool special = type == TokenType::control || type == TokenType::unused;
  if (special && !render_special) return false;
  std::string_view piece = pieces_[id];
  if (first_piece && strips_leading_space(id) && piece.starts_with(' ')) piece.remove_prefix(1);
  out.append(piece);
  return true;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string text;
  bool first_piece = true;
  for (int32_t id : ids) {
    check_id(id);
    if (append_decoded(id, first_piece, render_special, text)) first_piece = false;
  }
  return text;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  check_id(id);
  return pieces_[id];
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), id);
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id);
  return vocab_.token_types[id];
}

const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return vocab_.tokens[id];
}

}  // namespace hearth
