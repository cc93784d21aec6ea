// Tokenizers built from GGUF vocabulary metadata: SentencePiece-style ("llama") and GPT-2
// byte-level BPE ("gpt2"), with special-token parsing and streaming detokenization.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

namespace gguf {
class File;
}

// Values of tokenizer.ggml.token_type (the GGUF convention shared with llama.cpp).
enum class TokenType : int32_t {
  undefined = 0,  // treated like normal
  normal = 1,
  unknown = 2,
  control = 3,       // BOS, EOS, chat markers: never produced from plain text
  user_defined = 4,  // added tokens: always matched literally in the input
  unused = 5,
  byte = 6,  // SentencePiece byte fallback, text "<0xXX>"
};

inline constexpr int32_t kNoToken = -1;

struct Vocabulary {
  std::string origin;           // file name, used in error messages
  std::string model;            // "llama" (SentencePiece) or "gpt2" (byte-level BPE)
  std::string pre = "default";  // pre-tokenizer name (tokenizer.ggml.pre)
  std::vector<std::string> tokens;
  std::vector<float> scores;           // one per token; zeros when the file has none
  std::vector<TokenType> token_types;  // one per token; normal when the file has none
  std::vector<std::string> merges;     // "left right", highest priority first (gpt2 only)
  int32_t bos = kNoToken;
  int32_t eos = kNoToken;
  int32_t unk = kNoToken;
  int32_t pad = kNoToken;
  int32_t eot = kNoToken;  // end of turn
  int32_t eom = kNoToken;  // end of message
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SentencePiece: prepend "▁" to the text, strip it on decode

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
};

// Reads tokenizer.ggml.* from `file`; throws hearth::Error naming the file and key when
// the metadata is missing, inconsistent or out of range.
Vocabulary load_vocabulary(const gguf::File& file);

// Throws hearth::Error when the vocabulary's arrays disagree or an id is out of range.
void validate_vocabulary(const Vocabulary& vocab);

namespace tokenizer {
class Encoder;
class SpecialTokenMatcher;
}  // namespace tokenizer

class Tokenizer {
 public:
  // Validates `vocab`; throws hearth::Error for unsupported models or pre-tokenizers.
  explicit Tokenizer(Vocabulary vocab);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // `add_bos` adds BOS only when the vocabulary has one. With `parse_special`, the texts of
  // control tokens (e.g. "<s>", "<|endoftext|>") become those tokens; user-defined tokens
  // are always matched, as in Hugging Face tokenizers and llama.cpp. EOS is never added.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

  // Text of a whole sequence. Control and unused tokens produce nothing unless
  // `render_special`; SentencePiece with add_space_prefix drops the leading space of the
  // first piece, undoing the "▁" that encode() prepended. Throws on ids out of range.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  // The raw bytes of one token: "▁" becomes a space, <0xXX> becomes that byte, GPT-2
  // byte-level characters become their bytes; control tokens give their literal text.
  std::string token_to_piece(int32_t id) const;

  int32_t n_vocab() const { return vocab_.size(); }
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  int32_t eot() const { return vocab_.eot; }
  int32_t unk() const { return vocab_.unk; }
  int32_t pad() const { return vocab_.pad; }
  // Whether the model expects BOS at the start of a prompt (tokenizer.ggml.add_bos_token).
  bool wants_bos() const { return vocab_.add_bos; }
  // EOS, EOT, EOM and control tokens whose text is a well-known end-of-turn marker.
  bool is_end_of_generation(int32_t id) const;
  TokenType token_type(int32_t id) const;  // throws on ids out of range
  bool is_control(int32_t id) const { return token_type(id) == TokenType::control; }
  const std::string& token_text(int32_t id) const;  // as stored in the vocabulary
  const Vocabulary& vocabulary() const { return vocab_; }

 private:
  friend class StreamDecoder;
  void check_id(int32_t id) const;
  // Whether decoding `id` drops the first character of its piece when it is the first
  // text of a sequence (see decode()).
  bool strips_leading_space(int32_t id) const;
  // Appends what `id` contributes to decode(); returns false when it contributes nothing
  // (so it does not count as the first piece).
  bool append_decoded(int32_t id, bool first_piece, bool render_special, std::string& out) const;

  Vocabulary vocab_;
  std::vector<std::string> pieces_;  // decoded bytes of every token
  std::vector<int32_t> end_of_generation_;
  std::unique_ptr<tokenizer::Encoder> encoder_;
  std::unique_ptr<tokenizer::SpecialTokenMatcher> special_tokens_;
};

// Incremental detokenizer for generated tokens. Concatenating every push() and the final
// flush() gives exactly tokenizer.decode(all ids, render_special). Text is released only
// at UTF-8 character boundaries, so a character split across byte tokens is held back
// until complete. Keeps a reference: the Tokenizer must outlive the decoder.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false);

  std::string push(int32_t id);  // text that is ready after this token (maybe empty)
  std::string flush();           // whatever is held back, complete or not
  void reset();                  // start a new sequence

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  bool seen_text_ = false;
  std::string pending_;
};

}  // namespace hearth
