// Regex pre-tokenization for byte-level BPE: splits text into words that BPE merges never
// cross, using the pattern the vocabulary was trained with (tokenizer.ggml.pre).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

class PreTokenizer {
 public:
  // Names accepted (GGUF tokenizer.ggml.pre values):
  //   "default", "gpt2", "gpt-2", "phi-2"                         GPT-2 pattern
  //   "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"    Llama-3 pattern
  //   "qwen2", "deepseek-r1-qwen"                                 Qwen2 pattern
  // Throws hearth::Error for other names.
  explicit PreTokenizer(std::string_view name);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  static bool is_known(std::string_view name);

  // Consecutive words covering all of `text`. Bytes that are not well-formed UTF-8 never
  // match the pattern; each such stretch becomes a word of its own.
  std::vector<std::string_view> split(std::string_view text) const;

  // Llama-3 tokenizers emit a word that is itself a token directly, without BPE merges
  // (Hugging Face "ignore_merges").
  bool whole_word_tokens() const { return whole_word_tokens_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  bool whole_word_tokens_ = false;
};

}  // namespace hearth::tokenizer
