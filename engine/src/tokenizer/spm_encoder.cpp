#include "tokenizer/spm_encoder.h"

#include <cstdio>
#include <queue>

#include "tokenizer/utf8.h"

namespace hearth::tokenizer {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"
// What SentencePiece prints for an unknown piece.
constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 ";  // " ⁇ "

struct Symbol {
  size_t start;
  size_t length;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;  // -1 at the end
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  size_t length;  // left.length + right.length when queued; stale if they changed
};

// Highest score first; among equal scores the leftmost pair, as llama.cpp orders them.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// Parses "<0xXX>"; -1 when `text` is not of that form.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

}  // namespace

SentencePieceEncoder::SentencePieceEncoder(const Vocabulary& vocab)
    : index_(vocab.tokens),
      scores_(vocab.scores),
      texts_(vocab.tokens),
      types_(vocab.token_types),
      unk_(vocab.unk),
      add_space_prefix_(vocab.add_space_prefix) {
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    int32_t id = index_.find(name);
    // Vocabularies without byte tokens may still spell ASCII characters as themselves.
    if (id == kNoToken) id = index_.find(std::string(1, static_cast<char>(byte)));
    byte_tokens_[byte] = id;
  }
}

void SentencePieceEncoder::encode(std::string_view text, bool starts_text,
                                  std::vector<int32_t>& out) const {
  std::string escaped;
  escaped.reserve(text.size() + kSpaceMarker.size());
  if (add_space_prefix_ && starts_text) escaped += kSpaceMarker;
  for (char c : text) {
    if (c == ' ') {
      escaped += kSpaceMarker;
    } else {
      escaped += c;
    }
  }
  if (escaped.empty()) return;

  // One symbol per character; malformed UTF-8 gives one symbol per byte.
  std::vector<Symbol> symbols;
  symbols.reserve(escaped.size());
  for (size_t pos = 0; pos < escaped.size();) {
    const size_t length = utf8_char_length(escaped, pos);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({pos, length, index - 1, index + 1});
    pos += length;
  }
  symbols.back().next = -1;

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  const auto try_add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const size_t length = symbols[left].length + symbols[right].length;
    // Symbols are always contiguous stretches of `escaped`, so the pair is too.
    const int32_t id = index_.find(std::string_view(escaped).substr(symbols[left].start, length));
    if (id == kNoToken) return;
    queue.push({scores_[id], left, right, length});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.next != bigram.right ||
        left.length + right.length != bigram.length) {
      continue;  // one side changed since this pair was queued
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add_bigram(left.prev, bigram.left);
    try_add_bigram(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const std::string_view symbol =
        std::string_view(escaped).substr(symbols[i].start, symbols[i].length);
    const int32_t id = index_.find(symbol);
    if (id != kNoToken) {
      out.push_back(id);
    } else {
      append_bytes(symbol, out);
    }
  }
}

void SentencePieceEncoder::append_bytes(std::string_view text, std::vector<int32_t>& out) const {
  for (char c : text) {
    const int32_t id = byte_tokens_[static_cast<uint8_t>(c)];
    if (id != kNoToken) {
      out.push_back(id);
    } else if (unk_ != kNoToken) {
      out.push_back(unk_);
    }
  }
}

std::string SentencePieceEncoder::piece(int32_t id) const {
  const std::string& text = texts_[id];
  switch (types_[id]) {
    case TokenType::byte: {
      const int value = parse_byte_token(text);
      return value < 0 ? text : std::string(1, static_cast<char>(value));
    }
    case TokenType::unknown:
      return std::string(kUnknownSurface);
    case TokenType::control:
    case TokenType::unused:
      return text;
    default: {
      std::string result;
      result.reserve(text.size());
      for (size_t pos = 0; pos < text.size();) {
        if (std::string_view(text).substr(pos).starts_with(kSpaceMarker)) {
          result += ' ';
          pos += kSpaceMarker.size();
        } else {
          result += text[pos++];
        }
      }
      return result;
    }
  }
}

}  // namespace hearth::tokenizer
