// hearth: a model file's tokenizer on its own, read from the file's metadata without loading
// its weights — for tools that count or inspect tokens. An Engine tokenizes the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class Tokenizer;

class ModelTokenizer {
 public:
  // Reads the tokenizer.ggml.* metadata of the GGUF file at `path` (a vocabulary-only file
  // will do). Throws hearth::Error naming the file and the field when it is missing, malformed
  // or of a kind hearth does not support.
  static ModelTokenizer load(const std::string& path);
  ModelTokenizer(ModelTokenizer&&) noexcept;
  ModelTokenizer& operator=(ModelTokenizer&&) noexcept;
  ~ModelTokenizer();

  // `add_bos` adds BOS when the vocabulary has one. With `parse_special`, the texts of control
  // tokens (e.g. "<s>") become those tokens.
  std::vector<int32_t> tokenize(std::string_view text, bool add_bos, bool parse_special) const;
  std::string detokenize(std::span<const int32_t> tokens) const;
  std::string token_piece(int32_t token) const;  // the raw bytes of one token

  int32_t vocab_size() const;
  int32_t bos_token() const;  // -1 when the vocabulary has none
  int32_t eos_token() const;  // -1 when the vocabulary has none
  // Whether the model expects BOS at the start of a prompt (tokenizer.ggml.add_bos_token).
  bool wants_bos() const;

 private:
  explicit ModelTokenizer(std::unique_ptr<Tokenizer> tokenizer);

  std::unique_ptr<Tokenizer> tokenizer_;  // the engine's own, behind this narrow surface
};

}  // namespace hearth
