#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "tokenizer/tokenizer.h"

namespace hearth {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kPreKey = "tokenizer.ggml.pre";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTokenTypeKey = "tokenizer.ggml.token_type";
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";

// "<file>: <key> <what>", or "<file>: <key>[i] ..." when `what` starts with an index.
std::string key_error(const std::string& origin, std::string_view key, const std::string& what) {
  const char* gap = what.starts_with('[') ? "" : " ";
  return origin + ": " + std::string(key) + gap + what;
}

// Token ids are stored as u32 (sometimes i32); 0xFFFFFFFF and negative values mean "none".
int32_t read_token_id(const gguf::File& file, std::string_view key, int32_t fallback,
                      int32_t n_tokens) {
  const gguf::Value* value = file.find(key);
  if (value == nullptr) return fallback;
  int64_t id = 0;
  if (const auto* u = std::get_if<uint64_t>(&value->data)) {
    if (*u == 0xFFFFFFFFull || *u == std::numeric_limits<uint64_t>::max()) return kNoToken;
    id = *u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(*u);
  } else if (const auto* s = std::get_if<int64_t>(&value->data)) {
    if (*s < 0) return kNoToken;
    id = *s;
  } else {
    throw Error(key_error(file.path(), key,
                          "has type " + std::string(gguf::value_type_name(value->type)) +
                              ", expected an integer token id"));
  }
  if (id >= n_tokens) {
    throw Error(key_error(file.path(), key,
                          "is " + std::to_string(id) + ", but the vocabulary has " +
                              std::to_string(n_tokens) + " tokens"));
  }
  return static_cast<int32_t>(id);
}

void check_id(const Vocabulary& vocab, std::string_view name, int32_t id) {
  if (id != kNoToken && (id < 0 || id >= vocab.size())) {
    throw Error(vocab.origin + ": " + std::string(name) + " token id " + std::to_string(id) +
                " is out of range (the vocabulary has " + std::to_string(vocab.size()) +
                " tokens)");
  }
}

}  // namespace

void validate_vocabulary(const Vocabulary& vocab) {
  if (vocab.model != "llama" && vocab.model != "gpt2") {
    throw Error(key_error(
        vocab.origin, kModelKey,
        "\"" + vocab.model + "\" is not a supported tokenizer (expected \"llama\" or \"gpt2\")"));
  }
  if (vocab.tokens.empty()) throw Error(key_error(vocab.origin, kTokensKey, "is empty"));
  if (vocab.tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error(key_error(vocab.origin, kTokensKey, "has too many entries"));
  }
  const std::string expected = ", expected " + std::to_string(vocab.tokens.size());
  if (vocab.scores.size() != vocab.tokens.size()) {
    throw Error(key_error(vocab.origin, kScoresKey,
                          "has " + std::to_string(vocab.scores.size()) + " entries" + expected));
  }
  if (vocab.token_types.size() != vocab.tokens.size()) {
    throw Error(
        key_error(vocab.origin, kTokenTypeKey,
                  "has " + std::to_string(vocab.token_types.size()) + " entries" + expected));
  }
  for (size_t id = 0; id < vocab.token_types.size(); ++id) {
    const auto type = static_cast<int32_t>(vocab.token_types[id]);
    if (type < 0 || type > static_cast<int32_t>(TokenType::byte)) {
      throw Error(
          key_error(vocab.origin, kTokenTypeKey,
                    "[" + std::to_string(id) + "] is " + std::to_string(type) + ", expected 0..6"));
    }
  }
  check_id(vocab, "BOS", vocab.bos);
  check_id(vocab, "EOS", vocab.eos);
  check_id(vocab, "UNK", vocab.unk);
  check_id(vocab, "padding", vocab.pad);
  check_id(vocab, "EOT", vocab.eot);
  check_id(vocab, "EOM", vocab.eom);
}

Vocabulary load_vocabulary(const gguf::File& file) {
  Vocabulary vocab;
  vocab.origin = file.path();
  const auto model = file.get_string(kModelKey);
  if (!model) throw Error(key_error(vocab.origin, kModelKey, "is missing"));
  vocab.model = *model;
  if (vocab.model != "llama" && vocab.model != "gpt2") {
    throw Error(key_error(
        vocab.origin, kModelKey,
        "\"" + vocab.model + "\" is not a supported tokenizer (expected \"llama\" or \"gpt2\")"));
  }
  const bool sentencepiece = vocab.model == "llama";
  if (auto pre = file.get_string(kPreKey)) vocab.pre = *pre;

  auto tokens = file.get_string_array(kTokensKey);
  if (!tokens) throw Error(key_error(vocab.origin, kTokensKey, "is missing"));
  vocab.tokens = std::move(*tokens);
  if (vocab.tokens.empty()) throw Error(key_error(vocab.origin, kTokensKey, "is empty"));
  const size_t n_tokens = vocab.tokens.size();
  if (n_tokens > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error(key_error(vocab.origin, kTokensKey, "has too many entries"));
  }
  const std::string expected = ", expected " + std::to_string(n_tokens);

  if (auto scores = file.get_float_array(kScoresKey)) {
    if (scores->size() != n_tokens) {
      throw Error(key_error(vocab.origin, kScoresKey,
                            "has " + std::to_string(scores->size()) + " entries" + expected));
    }
    vocab.scores = std::move(*scores);
  } else if (sentencepiece) {
    // The merge order of a SentencePiece vocabulary lives entirely in its scores.
    throw Error(
        key_error(vocab.origin, kScoresKey, "is missing (required by \"llama\" tokenizers)"));
  } else {
    vocab.scores.assign(n_tokens, 0.0f);
  }

  if (auto types = file.get_int_array(kTokenTypeKey)) {
    if (types->size() != n_tokens) {
      throw Error(key_error(vocab.origin, kTokenTypeKey,
                            "has " + std::to_string(types->size()) + " entries" + expected));
    }
    vocab.token_types.reserve(n_tokens);
    for (size_t id = 0; id < n_tokens; ++id) {
      const int64_t type = (*types)[id];
      if (type < 0 || type > static_cast<int64_t>(TokenType::byte)) {
        throw Error(key_error(
            vocab.origin, kTokenTypeKey,
            "[" + std::to_string(id) + "] is " + std::to_string(type) + ", expected 0..6"));
      }
      vocab.token_types.push_back(static_cast<TokenType>(type));
    }
  } else {
    vocab.token_types.assign(n_tokens, TokenType::normal);
  }

  if (auto merges = file.get_string_array(kMergesKey)) {
    vocab.merges = std::move(*merges);
  } else if (!sentencepiece) {
    throw Error(
        key_error(vocab.origin, kMergesKey, "is missing (required by \"gpt2\" tokenizers)"));
  }

  const auto n = static_cast<int32_t>(n_tokens);
  // SentencePiece models without explicit ids use the conventional <unk>=0, <s>=1, </s>=2.
  const auto sp_default = [&](int32_t id) { return sentencepiece && id < n ? id : kNoToken; };
  vocab.bos = read_token_id(file, "tokenizer.ggml.bos_token_id", sp_default(1), n);
  vocab.eos = read_token_id(file, "tokenizer.ggml.eos_token_id", sp_default(2), n);
  vocab.unk = read_token_id(file, "tokenizer.ggml.unknown_token_id", sp_default(0), n);
  vocab.pad = read_token_id(file, "tokenizer.ggml.padding_token_id", kNoToken, n);
  vocab.eot = read_token_id(file, "tokenizer.ggml.eot_token_id", kNoToken, n);
  vocab.eom = read_token_id(file, "tokenizer.ggml.eom_token_id", kNoToken, n);

  vocab.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(sentencepiece);
  vocab.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  vocab.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(sentencepiece);

  validate_vocabulary(vocab);
  return vocab;
}

}  // namespace hearth
