#include "tokenizer/bpe_encoder.h"

#include <queue>

#include "hearth/error.h"
#include "tokenizer/byte_level.h"

namespace hearth::tokenizer {
namespace {

struct Symbol {
  int32_t token;  // kNoToken for a byte the vocabulary cannot spell
  int32_t prev;
  int32_t next;  // -1 at the end
  bool alive;
};

struct Bigram {
  int32_t rank;
  int32_t left;
  int32_t right;
  int32_t left_token;  // the pair as queued; stale once either side changed
  int32_t right_token;
  int32_t result;
};

// Lowest rank first; among equal ranks the leftmost pair.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

BytePairEncoder::BytePairEncoder(const Vocabulary& vocab)
    : pre_tokenizer_(vocab.pre),
      index_(vocab.tokens),
      texts_(vocab.tokens),
      types_(vocab.token_types),
      unk_(vocab.unk) {
  for (int byte = 0; byte < 256; ++byte) {
    byte_tokens_[byte] = index_.find(byte_to_unicode(static_cast<uint8_t>(byte)));
  }
  merges_.reserve(vocab.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& merge = vocab.merges[rank];
    // Search from 1 so that a left side which is itself a space still splits correctly.
    const size_t space = merge.find(' ', 1);
    if (space == std::string::npos) {
      throw Error(vocab.origin + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] \"" +
                  merge + "\" is not of the form \"left right\"");
    }
    const std::string_view left_text = std::string_view(merge).substr(0, space);
    const std::string_view right_text = std::string_view(merge).substr(space + 1);
    joined.assign(left_text);
    joined.append(right_text);
    const int32_t left = index_.find(left_text);
    const int32_t right = index_.find(right_text);
    const int32_t result = index_.find(joined);
    // A merge whose parts or result are not tokens can never apply (Hugging Face rejects
    // such vocabularies); ignore it rather than refuse the model.
    if (left == kNoToken || right == kNoToken || result == kNoToken) continue;
    merges_.try_emplace(pair_key(left, right), Merge{static_cast<int32_t>(rank), result});
  }
}

const BytePairEncoder::Merge* BytePairEncoder::find_merge(int32_t left, int32_t right) const {
  if (left == kNoToken || right == kNoToken) return nullptr;
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BytePairEncoder::encode(std::string_view text, bool /*starts_text*/,
                             std::vector<int32_t>& out) const {
  for (std::string_view word : pre_tokenizer_.split(text)) encode_word(word, out);
}

void BytePairEncoder::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (pre_tokenizer_.whole_word_tokens()) {
    std::string spelled;
    byte_level_encode(word, spelled);
    const int32_t id = index_.find(spelled);
    if (id != kNoToken) {
      out.push_back(id);
      return;
    }
  }

  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto index = static_cast<int32_t>(i);
    symbols.push_back({byte_tokens_[static_cast<uint8_t>(word[i])], index - 1, index + 1, true});
  }
  symbols.back().next = -1;

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  const auto try_add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Merge* merge = find_merge(symbols[left].token, symbols[right].token);
    if (merge == nullptr) return;
    queue.push(
        {merge->rank, left, right, symbols[left].token, symbols[right].token, merge->result});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    // A symbol's token only changes by growing, so equal tokens mean an unchanged symbol.
    if (!left.alive || !right.alive || left.next != bigram.right ||
        left.token != bigram.left_token || right.token != bigram.right_token) {
      continue;
    }
    left.token = bigram.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add_bigram(left.prev, bigram.left);
    try_add_bigram(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    if (symbols[i].token != kNoToken) {
      out.push_back(symbols[i].token);
    } else if (unk_ != kNoToken) {
      out.push_back(unk_);
    }
  }
}

std::string BytePairEncoder::piece(int32_t id) const {
  const std::string& text = texts_[id];
  switch (types_[id]) {
    case TokenType::normal:
    case TokenType::undefined: {
      std::string bytes;
      bytes.reserve(text.size());
      byte_level_decode(text, bytes);
      return bytes;
    }
    default:
      // Added and special tokens are stored as plain text, not in byte-level spelling.
      return text;
  }
}

}  // namespace hearth::tokenizer
