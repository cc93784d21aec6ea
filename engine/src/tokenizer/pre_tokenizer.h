// Regex pre-tokenization for byte-level BPE: splits text into words that BPE merges never
// cross, using the patterns the vocabulary was trained with (tokenizer.ggml.pre).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

class PreTokenizer {
 public:
  // `name` is a GGUF tokenizer.ggml.pre value as llama.cpp's converter writes it
  // (known_names() lists them). Throws hearth::Error for other names.
  explicit PreTokenizer(std::string_view name);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  static bool is_known(std::string_view name);
  static std::span<const std::string_view> known_names();

  // Consecutive words covering all of `text`. A scheme is a list of patterns applied one
  // after another: each splits every word the previous one produced into its matches and
  // the stretches between them. Bytes that are not well-formed UTF-8 never match a
  // pattern, so they stay in the stretches between matches.
  std::vector<std::string_view> split(std::string_view text) const;

  // Llama-3 and Tekken tokenizers emit a word that is itself a token directly, without
  // BPE merges (Hugging Face "ignore_merges").
  bool whole_word_tokens() const { return whole_word_tokens_; }

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> patterns_;
  bool whole_word_tokens_ = false;
};

}  // namespace hearth::tokenizer
