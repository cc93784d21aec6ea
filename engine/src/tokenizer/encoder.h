// The model-specific half of a tokenizer: turns plain text (no special tokens) into ids and
// knows how each token reads back as bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {
struct Vocabulary;
}

namespace hearth::tokenizer {

class Encoder {
 public:
  virtual ~Encoder() = default;

  // Appends the ids of `text`, a non-empty stretch of input holding no special token.
  // `starts_text` is true for the start of the input and right after a special token,
  // where SentencePiece inserts its space prefix.
  virtual void encode(std::string_view text, bool starts_text, std::vector<int32_t>& out) const = 0;

  // The bytes token `id` stands for (the text itself for control and unused tokens).
  virtual std::string piece(int32_t id) const = 0;
};

// Builds the encoder for vocab.model; throws hearth::Error for unsupported models and
// pre-tokenizers. The encoder copies what it needs and keeps no reference to `vocab`.
std::unique_ptr<Encoder> make_encoder(const Vocabulary& vocab);

}  // namespace hearth::tokenizer
