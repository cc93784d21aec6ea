#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

#include "hearth/error.h"

namespace hearth::tokenizer {
namespace {

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Same as Llama-3 except that every digit is a word of its own.
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The Unicode White_Space characters. PCRE2's \s also matches U+180E (Mongolian vowel
// separator), which Unicode no longer counts as a space and which the reference
// tokenizers (Rust regex, Python regex) do not treat as one.
constexpr std::string_view kWhiteSpaceChars =
    R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites \s and \S in `pattern` to spell out kWhiteSpaceChars, inside and outside
// character classes. The patterns here contain no escaped brackets.
std::string with_unicode_white_space(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += in_class ? std::string(kWhiteSpaceChars) : "[" + std::string(kWhiteSpaceChars) + "]";
      } else if (next == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpaceChars) + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    out += c;
  }
  return out;
}

struct Scheme {
  std::string_view name;
  std::string_view pattern;
  bool whole_word_tokens;
};

constexpr std::array kSchemes = {
    Scheme{"default", kGpt2Pattern, false},
    Scheme{"gpt2", kGpt2Pattern, false},
    Scheme{"gpt-2", kGpt2Pattern, false},
    Scheme{"phi-2", kGpt2Pattern, false},
    Scheme{"llama3", kLlama3Pattern, true},
    Scheme{"llama-v3", kLlama3Pattern, true},
    Scheme{"llama-bpe", kLlama3Pattern, true},
    Scheme{"falcon3", kLlama3Pattern, true},
    Scheme{"pixtral", kLlama3Pattern, true},
    Scheme{"qwen2", kQwen2Pattern, false},
    Scheme{"deepseek-r1-qwen", kQwen2Pattern, false},
};

const Scheme* find_scheme(std::string_view name) {
  for (const Scheme& scheme : kSchemes) {
    if (scheme.name == name) return &scheme;
  }
  return nullptr;
}

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  pcre2_get_error_message(code, buffer.data(), buffer.size());
  return reinterpret_cast<const char*>(buffer.data());
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(std::string_view name) {
  const Scheme* scheme = find_scheme(name);
  if (scheme == nullptr) {
    throw Error("unsupported pre-tokenizer \"" + std::string(name) + "\"");
  }
  whole_word_tokens_ = scheme->whole_word_tokens;
  compiled_ = std::make_unique<Compiled>();
  const std::string pattern = with_unicode_white_space(scheme->pattern);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // MATCH_INVALID_UTF lets arbitrary bytes through: malformed sequences simply never match.
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                  &error_offset, nullptr);
  if (compiled_->code == nullptr) {
    throw Error("pre-tokenizer \"" + std::string(name) + "\": pattern does not compile at offset " +
                std::to_string(error_offset) + ": " + pcre2_message(error));
  }
  // JIT is an optimisation only; matching falls back to the interpreter without it.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

bool PreTokenizer::is_known(std::string_view name) { return find_scheme(name) != nullptr; }

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> words;
  const std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr));
  if (!match) throw Error("pre-tokenizer: out of memory", ErrorCode::out_of_memory);
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());

  size_t offset = 0;
  while (offset < text.size()) {
    int rc = pcre2_match(compiled_->code, subject, text.size(), offset, 0, match.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(compiled_->code, subject, text.size(), offset, PCRE2_NO_JIT, match.get(),
                       nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
      words.push_back(text.substr(offset));
      break;
    }
    if (rc < 0) throw Error("pre-tokenizer: match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match.get());
    const size_t start = bounds[0];
    size_t end = bounds[1];
    if (start > offset) words.push_back(text.substr(offset, start - offset));
    if (end == start) end = start + 1;  // the patterns never match empty; stay safe anyway
    words.push_back(text.substr(start, end - start));
    offset = end;
  }
  return words;
}

}  // namespace hearth::tokenizer
