#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

#include "hearth/error.h"
#include "tokenizer/regex_classes.h"
#include "tokenizer/utf8.h"

namespace hearth::tokenizer {
namespace {

// The patterns are those of the models' Hugging Face tokenizer.json files, in the order
// llama.cpp applies them for each tokenizer.ggml.pre value. Where llama.cpp rewrote a
// pattern for std::regex (which lacks \p{Lu}, (?i) and possessive quantifiers), the
// original is used: PCRE2 matches it as the model's own tokenizer did.

// GPT-2: llama.cpp's lists omit the final "\s+" because its hand-written matcher for this
// pattern behaves as if it were there (a lone space before a letter-less end of text).
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// As Llama-3, but every digit is a word of its own.
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kSingleDigits = R"(\p{N})";
constexpr std::string_view kDigitRuns = R"(\p{N}+)";
constexpr std::string_view kDigitTriples = R"([0-9][0-9][0-9])";

// DeepSeek LLM: newlines, then words of cased letters, then ASCII and full-width
// punctuation, trailing whitespace, CJK and Hangul runs, digit runs.
constexpr std::string_view kDeepSeekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
constexpr std::string_view kDeepSeekPunctuation =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
constexpr std::string_view kDeepSeekCjk =
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr std::array kDeepSeekLlm = {
    std::string_view(R"([\r\n])"), kDeepSeekLetters, kDeepSeekPunctuation,
    std::string_view(R"(\s+$)"),   kDeepSeekCjk,     kDigitRuns,
};
constexpr std::array kDeepSeekCoder = {
    std::string_view(R"([\r\n])"),
    std::string_view(R"(\s?\p{L}+)"),
    std::string_view(R"(\s?\p{P}+)"),
    kDeepSeekCjk,
    kSingleDigits,
};
// DeepSeek V3: digits in threes, CJK and kana runs, then a Llama-3-like pattern in which
// one ASCII punctuation mark may lead a word of ASCII letters.
constexpr std::array kDeepSeekV3 = {
    std::string_view(R"(\p{N}{1,3})"),
    std::string_view(R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)"),
    std::string_view(
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
};
constexpr std::array kFalcon = {
    std::string_view(R"([\p{P}\$\+<=>\^~\|`]+)"),
    kGpt2,
    kDigitTriples,
};
constexpr std::array kDefault = {
    std::string_view(R"([\p{P}\$\+<=>\^~\|]+)"),
    kGpt2,
    kDigitRuns,
    kDigitTriples,
};
constexpr std::array kStarCoder = {kSingleDigits, kGpt2};
constexpr std::array kGpt2Only = {kGpt2};
constexpr std::array kLlama3Only = {kLlama3};
constexpr std::array kQwen2Only = {kQwen2};
// BLOOM and Poro: everything but whitespace and a few punctuation marks (the parentheses
// and bar are literal members of the class, as in the original).
constexpr std::string_view kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";
constexpr std::array kBloomOnly = {kBloom};
constexpr std::array kViking = {kBloom, kSingleDigits};
// Tekken (Mistral NeMo and later): words split before an uppercase letter that follows a
// lowercase one, single digits, and "/" kept with the punctuation before it.
constexpr std::array kTekken = {std::string_view(
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)")};
// GPT-4o (o200k) and Llama 4: as Tekken, with contractions attached to their word and
// digits in threes.
constexpr std::array kGpt4o = {std::string_view(
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)")};
constexpr std::array kChameleon = {
    std::string_view(R"(<sentinel:[0-9]+>)"),
    std::string_view(R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)"),
    std::string_view(R"(([\t\n]|    |  ))"),
    kSingleDigits,
    std::string_view(R"([\p{P}!-/:-@\[-`{-~])"),
    kGpt2,
};
// SuperBPE: only digits are split off (words may span spaces), and digit runs are cut
// into threes counted from the right. The second pattern matches only empty strings.
constexpr std::array kSuperBpe = {kDigitRuns, std::string_view(R"((?=(?:[0-9]{3})+(?![0-9])))")};
constexpr std::array kBailingMoe = {std::string_view(
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)")};
constexpr std::array kSeedCoder = {std::string_view(
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)")};

struct Scheme {
  std::string_view name;
  std::span<const std::string_view> patterns;
  bool whole_word_tokens = false;
};

// Every name llama.cpp maps to one of the schemes above. "gpt2" is accepted as well, as
// earlier versions of this engine did.
constexpr std::array kSchemes = {
    Scheme{"default", kDefault},
    Scheme{"llama3", kLlama3Only, true},
    Scheme{"llama-v3", kLlama3Only, true},
    Scheme{"llama-bpe", kLlama3Only, true},
    Scheme{"falcon3", kLlama3Only, true},
    Scheme{"falcon-h1", kLlama3Only, true},
    Scheme{"pixtral", kLlama3Only, true},
    Scheme{"midm-2.0", kLlama3Only, true},
    Scheme{"lfm2", kLlama3Only, true},
    Scheme{"dbrx", kLlama3Only},
    Scheme{"smaug-bpe", kLlama3Only},
    Scheme{"chatglm-bpe", kLlama3Only},
    Scheme{"glm4", kLlama3Only},
    Scheme{"deepseek-llm", kDeepSeekLlm},
    Scheme{"deepseek-coder", kDeepSeekCoder},
    Scheme{"deepseek-v3", kDeepSeekV3},
    Scheme{"hunyuan-dense", kDeepSeekV3},
    Scheme{"falcon", kFalcon},
    Scheme{"starcoder", kStarCoder},
    Scheme{"refact", kStarCoder},
    Scheme{"command-r", kStarCoder},
    Scheme{"smollm", kStarCoder},
    Scheme{"codeshell", kStarCoder},
    Scheme{"exaone", kStarCoder},
    Scheme{"minerva-7b", kStarCoder},
    Scheme{"gpt-2", kGpt2Only},
    Scheme{"gpt2", kGpt2Only},
    Scheme{"phi-2", kGpt2Only},
    Scheme{"jina-es", kGpt2Only},
    Scheme{"jina-de", kGpt2Only},
    Scheme{"jina-v1-en", kGpt2Only},
    Scheme{"jina-v2-es", kGpt2Only},
    Scheme{"jina-v2-de", kGpt2Only},
    Scheme{"jina-v2-code", kGpt2Only},
    Scheme{"roberta-bpe", kGpt2Only},
    Scheme{"gigachat", kGpt2Only},
    Scheme{"a.x-4.0", kGpt2Only},
    Scheme{"mellum", kGpt2Only},
    Scheme{"exaone4", kGpt2Only},
    Scheme{"mpt", kGpt2Only},
    Scheme{"olmo", kGpt2Only},
    Scheme{"jais", kGpt2Only},
    Scheme{"trillion", kGpt2Only},
    Scheme{"granite-docling", kGpt2Only},
    Scheme{"qwen2", kQwen2Only},
    Scheme{"deepseek-r1-qwen", kQwen2Only},
    Scheme{"kormo", kQwen2Only},
    Scheme{"megrez", kQwen2Only},
    Scheme{"stablelm2", kQwen2Only},
    Scheme{"hunyuan", kQwen2Only},
    Scheme{"grok-2", kQwen2Only},
    Scheme{"poro-chat", kBloomOnly},
    Scheme{"bloom", kBloomOnly},
    Scheme{"gpt3-finnish", kBloomOnly},
    Scheme{"viking", kViking},
    Scheme{"tekken", kTekken, true},
    Scheme{"gpt-4o", kGpt4o},
    Scheme{"llama4", kGpt4o},
    Scheme{"minimax-m2", kGpt4o},
    Scheme{"chameleon", kChameleon},
    Scheme{"superbpe", kSuperBpe},
    Scheme{"bailingmoe", kBailingMoe},
    Scheme{"bailingmoe2", kBailingMoe},
    Scheme{"llada-moe", kBailingMoe},
    Scheme{"seed-coder", kSeedCoder},
};

constexpr std::array<std::string_view, kSchemes.size()> scheme_names() {
  std::array<std::string_view, kSchemes.size()> names{};
  for (size_t i = 0; i < kSchemes.size(); ++i) names[i] = kSchemes[i].name;
  return names;
}
constexpr std::array kSchemeNames = scheme_names();

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
using MatchData = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

}  // namespace

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }

  // Runs the pattern once from `offset`; false when nothing more matches. The JIT stack is
  // small; a pattern that exhausts it on a long run of text is retried by the interpreter.
  bool match(std::string_view subject, size_t offset, uint32_t options, pcre2_match_data* data,
             size_t& start, size_t& end) const {
    const auto bytes = reinterpret_cast<PCRE2_SPTR>(subject.data());
    int rc = pcre2_match(code, bytes, subject.size(), offset, options, data, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, bytes, subject.size(), offset, options | PCRE2_NO_JIT, data, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) throw Error("pre-tokenizer: match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(data);
    start = bounds[0];
    end = bounds[1];
    return true;
  }

  // Appends the matches of the pattern in `word` and the stretches between them. Each word
  // is a subject of its own, so "$" and look-ahead stop at its end, as in the reference
  // implementations. After an empty match the search goes on as std::regex_iterator's and
  // Python's do: first a non-empty match at the same place, else from the next character.
  void split(std::string_view word, pcre2_match_data* data,
             std::vector<std::string_view>& out) const {
    size_t emitted = 0;  // end of what is already in `out`
    size_t offset = 0;
    uint32_t options = 0;
    while (offset <= word.size()) {
      size_t start = 0;
      size_t end = 0;
      if (!match(word, offset, options, data, start, end)) {
        if (options == 0) break;
        // No non-empty match right after an empty one: step over one character.
        options = 0;
        if (offset >= word.size()) break;
        offset += utf8_char_length(word, offset);
        continue;
      }
      if (start > emitted) out.push_back(word.substr(emitted, start - emitted));
      if (end > start) {
        out.push_back(word.substr(start, end - start));
        emitted = end;
      } else {
        emitted = start;
      }
      offset = end;
      options = end == start ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    }
    if (emitted < word.size()) out.push_back(word.substr(emitted));
  }
};

PreTokenizer::PreTokenizer(std::string_view name) {
  const Scheme* scheme = find_scheme(name);
  if (scheme == nullptr) {
    throw Error("unsupported pre-tokenizer \"" + std::string(name) + "\"");
  }
  whole_word_tokens_ = scheme->whole_word_tokens;
  for (std::string_view source : scheme->patterns) {
    auto compiled = std::make_unique<Compiled>();
    const std::string pattern = with_reference_unicode_classes(source);
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    // MATCH_INVALID_UTF lets arbitrary bytes through: malformed sequences never match.
    compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &error_offset, nullptr);
    if (compiled->code == nullptr) {
      throw Error("pre-tokenizer \"" + std::string(name) +
                  "\": pattern does not compile at offset " + std::to_string(error_offset) + ": " +
                  pcre2_message(error));
    }
    // JIT is an optimisation only; matching falls back to the interpreter without it.
    pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
    patterns_.push_back(std::move(compiled));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

bool PreTokenizer::is_known(std::string_view name) { return find_scheme(name) != nullptr; }

std::span<const std::string_view> PreTokenizer::known_names() { return kSchemeNames; }

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> words;
  if (text.empty()) return words;
  words.push_back(text);
  std::vector<std::string_view> next;
  for (const std::unique_ptr<Compiled>& pattern : patterns_) {
    const MatchData data(pcre2_match_data_create_from_pattern(pattern->code, nullptr));
    if (!data) throw Error("pre-tokenizer: out of memory", ErrorCode::out_of_memory);
    next.clear();
    for (std::string_view word : words) pattern->split(word, data.get(), next);
    words.swap(next);
  }
  return words;
}

}  // namespace hearth::tokenizer
