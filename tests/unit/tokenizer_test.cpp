// Tokenizer tests: llama.cpp's reference vectors for a SentencePiece vocabulary and five
// byte-level BPE ones (GPT-2, DeepSeek LLM, DeepSeek Coder, StarCoder, Falcon), the
// stories260K model's vocabulary, the splits of every pre-tokenizer scheme, streaming
// detokenization and errors for malformed vocabulary metadata.
#include "tokenizer/tokenizer.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "test_paths.h"
#include "tokenizer/pre_tokenizer.h"

namespace {

using hearth::Tokenizer;
using hearth::tokenizer::PreTokenizer;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

// Reads the .inp/.out pairs the way llama.cpp's test-tokenizer-0 does: every test string
// is terminated by the separator (the file ends with one), and line i of .out holds the
// ids of string i.
std::vector<Vector> load_vectors(const std::string& vocab_path) {
  const std::string inputs = read_file(vocab_path + ".inp");
  const std::string outputs = read_file(vocab_path + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";

  std::vector<std::string> texts;
  for (size_t start = 0;;) {
    const size_t end = inputs.find(separator, start);
    if (end == std::string::npos) break;
    texts.push_back(inputs.substr(start, end - start));
    start = end + separator.size();
  }

  std::vector<Vector> vectors;
  std::istringstream lines(outputs);
  std::string line;
  for (const std::string& text : texts) {
    REQUIRE(std::getline(lines, line));
    Vector vector{text, {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) vector.ids.push_back(id);
    vectors.push_back(std::move(vector));
  }
  REQUIRE_FALSE(std::getline(lines, line));  // as many lines as strings
  return vectors;
}

std::string vocab_path(const std::string& name) {
  return hearth::test::source_path("tests/data/tokenizer/" + name);
}

const Tokenizer& load_tokenizer(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[path];
  if (!slot) {
    const auto file = hearth::gguf::File::open(path);
    slot = std::make_unique<Tokenizer>(hearth::load_vocabulary(*file));
  }
  return *slot;
}

const Tokenizer& spm() { return load_tokenizer(vocab_path("ggml-vocab-llama-spm.gguf")); }
const Tokenizer& gpt2() { return load_tokenizer(vocab_path("ggml-vocab-gpt-2.gguf")); }
const Tokenizer& stories() { return load_tokenizer(hearth::test::model_path()); }

std::string stream_decode(const Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                          bool render_special = false) {
  hearth::StreamDecoder decoder(tokenizer, render_special);
  std::string text;
  for (int32_t id : ids) text += decoder.push(id);
  return text + decoder.flush();
}

// Runs every reference vector: exact ids, and decode/stream round trips.
void check_vectors(const Tokenizer& tokenizer, const std::string& path) {
  const auto vectors = load_vectors(path);
  REQUIRE(vectors.size() > 40);
  size_t encoded = 0;
  size_t decoded = 0;
  for (const Vector& vector : vectors) {
    INFO("input: \"" << vector.text << "\"");
    const auto ids = tokenizer.encode(vector.text, /*add_bos=*/false, /*parse_special=*/false);
    CHECK(ids == vector.ids);
    encoded += ids == vector.ids;

    const std::string text = tokenizer.decode(vector.ids);
    // Every input of every set decodes back exactly: SentencePiece only ever prepends one
    // "▁" to the text, and decode() removes exactly that one, so leading spaces in the
    // input ("   Hello") survive; byte-level BPE is lossless by construction.
    CHECK(text == vector.text);
    decoded += text == vector.text;
    CHECK(stream_decode(tokenizer, vector.ids) == text);

    // With BOS in front the text must come back unchanged as well.
    const auto with_bos = tokenizer.encode(vector.text, /*add_bos=*/true, /*parse_special=*/false);
    CHECK(tokenizer.decode(with_bos) == vector.text);
    CHECK(stream_decode(tokenizer, with_bos) == vector.text);
  }
  CHECK(encoded == vectors.size());
  CHECK(decoded == vectors.size());
}

std::vector<std::string> split(const std::string& pre, std::string_view text) {
  const PreTokenizer pre_tokenizer(pre);
  std::vector<std::string> words;
  for (std::string_view word : pre_tokenizer.split(text)) words.emplace_back(word);
  return words;
}

using Words = std::vector<std::string>;

}  // namespace

TEST_CASE("SentencePiece vocabulary passes llama.cpp's reference vectors", "[tokenizer][spm]") {
  const Tokenizer& tokenizer = spm();
  CHECK(tokenizer.n_vocab() == 32000);
  CHECK(tokenizer.bos() == 1);
  CHECK(tokenizer.eos() == 2);
  CHECK(tokenizer.vocabulary().add_space_prefix);
  check_vectors(tokenizer, vocab_path("ggml-vocab-llama-spm.gguf"));
}

TEST_CASE("GPT-2 vocabulary passes llama.cpp's reference vectors", "[tokenizer][bpe]") {
  const Tokenizer& tokenizer = gpt2();
  CHECK(tokenizer.n_vocab() == 50257);
  CHECK(tokenizer.vocabulary().pre == "gpt-2");
  CHECK_FALSE(tokenizer.wants_bos());
  check_vectors(tokenizer, vocab_path("ggml-vocab-gpt-2.gguf"));
}

TEST_CASE("DeepSeek LLM vocabulary passes llama.cpp's reference vectors", "[tokenizer][bpe]") {
  const Tokenizer& tokenizer = load_tokenizer(vocab_path("ggml-vocab-deepseek-llm.gguf"));
  CHECK(tokenizer.vocabulary().pre == "deepseek-llm");
  check_vectors(tokenizer, vocab_path("ggml-vocab-deepseek-llm.gguf"));
}

TEST_CASE("StarCoder vocabulary passes llama.cpp's reference vectors", "[tokenizer][bpe]") {
  const Tokenizer& tokenizer = load_tokenizer(vocab_path("ggml-vocab-starcoder.gguf"));
  CHECK(tokenizer.vocabulary().pre == "starcoder");
  check_vectors(tokenizer, vocab_path("ggml-vocab-starcoder.gguf"));
}

TEST_CASE("DeepSeek Coder vocabulary passes llama.cpp's reference vectors", "[tokenizer][bpe]") {
  const Tokenizer& tokenizer = load_tokenizer(vocab_path("ggml-vocab-deepseek-coder.gguf"));
  CHECK(tokenizer.vocabulary().pre == "deepseek-coder");
  check_vectors(tokenizer, vocab_path("ggml-vocab-deepseek-coder.gguf"));
}

TEST_CASE("Falcon vocabulary passes llama.cpp's reference vectors", "[tokenizer][bpe]") {
  const Tokenizer& tokenizer = load_tokenizer(vocab_path("ggml-vocab-falcon.gguf"));
  CHECK(tokenizer.vocabulary().pre == "falcon");
  check_vectors(tokenizer, vocab_path("ggml-vocab-falcon.gguf"));
}

TEST_CASE("stories260K vocabulary encodes and decodes", "[tokenizer][spm]") {
  const Tokenizer& tokenizer = stories();
  CHECK(tokenizer.n_vocab() == 512);
  CHECK(tokenizer.wants_bos());
  const std::string text = "Once upon a time";
  const auto ids = tokenizer.encode(text, /*add_bos=*/true, /*parse_special=*/false);
  REQUIRE(ids.size() > 1);
  CHECK(ids[0] == 1);
  CHECK(tokenizer.decode(ids) == text);
  CHECK(stream_decode(tokenizer, ids) == text);
  // Without BOS only the BOS disappears.
  const auto plain = tokenizer.encode(text, false, false);
  CHECK(std::vector<int32_t>(ids.begin() + 1, ids.end()) == plain);

  // Characters outside the 512-token vocabulary fall back to byte tokens and survive.
  const std::string rare = "Ünïcödé 🙂 text";
  const auto rare_ids = tokenizer.encode(rare, true, false);
  CHECK(tokenizer.decode(rare_ids) == rare);
  CHECK(stream_decode(tokenizer, rare_ids) == rare);
  CHECK(tokenizer.is_end_of_generation(2));
  CHECK_FALSE(tokenizer.is_end_of_generation(1));
}

TEST_CASE("control tokens decode to nothing unless rendered", "[tokenizer][spm]") {
  const Tokenizer& tokenizer = stories();
  const auto ids = tokenizer.encode("Hello", true, false);
  std::vector<int32_t> with_eos = ids;
  with_eos.push_back(tokenizer.eos());
  CHECK(tokenizer.decode(with_eos) == "Hello");
  CHECK(tokenizer.decode(with_eos, /*render_special=*/true) == "<s> Hello</s>");
  CHECK(stream_decode(tokenizer, with_eos, true) == "<s> Hello</s>");
  CHECK(tokenizer.token_to_piece(1) == "<s>");
  CHECK(tokenizer.is_control(1));
  CHECK(tokenizer.token_type(3) == hearth::TokenType::byte);
  CHECK(tokenizer.token_to_piece(3 + 'A') == "A");  // <0x41>
  CHECK_THROWS_AS(tokenizer.decode(std::vector<int32_t>{512}), hearth::Error);
  CHECK_THROWS_AS(tokenizer.token_to_piece(-1), hearth::Error);
}

TEST_CASE("special token texts are parsed only when asked", "[tokenizer]") {
  SECTION("SentencePiece") {
    const Tokenizer& tokenizer = spm();
    const auto parsed = tokenizer.encode("<s>Hello</s>", false, /*parse_special=*/true);
    // Text right after a special token gets the space prefix again, as in llama.cpp.
    CHECK(parsed == std::vector<int32_t>{1, 15043, 2});
    const auto literal = tokenizer.encode("<s>Hello</s>", false, /*parse_special=*/false);
    CHECK(literal.size() > 3);
    CHECK(tokenizer.decode(literal) == "<s>Hello</s>");
  }
  SECTION("GPT-2") {
    const Tokenizer& tokenizer = gpt2();
    const auto parsed = tokenizer.encode("Hello<|endoftext|> world", false, true);
    CHECK(parsed == std::vector<int32_t>{15496, 50256, 995});
    CHECK(tokenizer.decode(parsed) == "Hello world");
    CHECK(tokenizer.decode(parsed, true) == "Hello<|endoftext|> world");
    const auto literal = tokenizer.encode("Hello<|endoftext|> world", false, false);
    CHECK(std::find(literal.begin(), literal.end(), 50256) == literal.end());
    CHECK(tokenizer.decode(literal) == "Hello<|endoftext|> world");
    CHECK(tokenizer.is_end_of_generation(50256));
    CHECK(tokenizer.token_to_piece(15496) == "Hello");
    CHECK(tokenizer.token_to_piece(995) == " world");  // "Ġworld"
  }
}

TEST_CASE("BOS is added only when asked and available", "[tokenizer]") {
  CHECK(spm().encode("Hello", true, false) == std::vector<int32_t>{1, 15043});
  CHECK(spm().encode("Hello", false, false) == std::vector<int32_t>{15043});
  CHECK(spm().encode("", true, false) == std::vector<int32_t>{1});
  CHECK(spm().encode("", false, false).empty());
  // GPT-2 names <|endoftext|> as its BOS.
  CHECK(gpt2().encode("Hello", true, false) == std::vector<int32_t>{50256, 15496});
}

TEST_CASE("stream decoder holds back incomplete UTF-8", "[tokenizer][stream]") {
  const Tokenizer& tokenizer = spm();
  // "🙂" has no token in Llama-2's vocabulary, so it becomes four byte tokens.
  const auto ids = tokenizer.encode("a🙂b", false, false);
  hearth::StreamDecoder decoder(tokenizer);
  std::vector<std::string> pushes;
  for (int32_t id : ids) pushes.push_back(decoder.push(id));
  CHECK(decoder.flush().empty());
  std::string joined;
  for (const auto& piece : pushes) joined += piece;
  CHECK(joined == "a🙂b");
  // No push ever releases part of a character.
  for (const auto& piece : pushes) {
    INFO("piece: " << piece);
    const bool whole = piece.find("\xF0") == std::string::npos ||
                       piece.find("\xF0\x9F\x99\x82") != std::string::npos;
    CHECK(whole);
  }
  int empty_pushes = 0;
  for (const auto& piece : pushes) empty_pushes += piece.empty();
  CHECK(empty_pushes == 3);  // the first three bytes of the emoji

  SECTION("leading space is stripped only for the first piece, BOS or not") {
    hearth::StreamDecoder after_bos(tokenizer);
    CHECK(after_bos.push(1).empty());
    CHECK(after_bos.push(15043) == "Hello");  // "▁Hello"
    CHECK(after_bos.push(15043) == " Hello");
    after_bos.reset();
    CHECK(after_bos.push(15043) == "Hello");
  }
  SECTION("a sequence cut inside a character releases its bytes on flush") {
    hearth::StreamDecoder cut(tokenizer);
    const std::vector<int32_t> partial(ids.begin(), ids.begin() + 3);
    std::string text;
    for (int32_t id : partial) text += cut.push(id);
    text += cut.flush();
    CHECK(text == tokenizer.decode(partial));
  }
}

TEST_CASE("malformed UTF-8 input is tokenized without loss", "[tokenizer]") {
  const std::vector<std::string> inputs = {
      std::string("\xff\xfe abc"),        std::string("abc \xc3"),
      std::string("\xe2\x82 x \x80\x80"), std::string("caf\xc3\xa9 \xed\xa0\x80 surrogate"),
      std::string("\xf0\x9f\x99", 3),     std::string("a\0b", 3)};
  for (const std::string& input : inputs) {
    INFO("input bytes: " << input.size());
    for (const Tokenizer* tokenizer : {&spm(), &gpt2()}) {
      const auto ids = tokenizer->encode(input, false, false);
      CHECK(tokenizer->decode(ids) == input);
      CHECK(stream_decode(*tokenizer, ids) == input);
    }
  }
}

TEST_CASE("random byte strings round-trip", "[tokenizer]") {
  // Bytes drawn mostly from ASCII with some UTF-8 lead/continuation bytes mixed in, so both
  // well-formed and malformed sequences occur. (SentencePiece cannot round-trip a literal
  // "▁" in the input, which it reads as a space; these strings cannot form one.)
  std::mt19937 random(1234);
  const std::string alphabet =
      std::string("ab Z9'\n\t.") + "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x80\xBF\xFF";
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const size_t length = random() % 40;
    for (size_t i = 0; i < length; ++i) input += alphabet[random() % alphabet.size()];
    for (const Tokenizer* tokenizer : {&spm(), &gpt2()}) {
      for (bool parse_special : {false, true}) {
        const auto ids = tokenizer->encode(input, true, parse_special);
        REQUIRE(tokenizer->decode(ids) == input);
        REQUIRE(stream_decode(*tokenizer, ids) == input);
      }
    }
  }
}

TEST_CASE("long inputs tokenize quickly", "[tokenizer][performance]") {
  std::string text;
  while (text.size() < 64 * 1024) {
    text +=
        "The quick brown fox jumps over the lazy dog 1234567, naïve café — ünïcödé 🙂!\n";
  }
  // Pathological words: one huge run of letters, digits and spaces.
  const std::string long_word(20000, 'a');
  const std::string long_number(20000, '7');
  const std::string long_space(20000, ' ');
  for (const Tokenizer* tokenizer : {&spm(), &gpt2()}) {
    const auto start = std::chrono::steady_clock::now();
    for (const std::string* input :
         std::initializer_list<const std::string*>{&text, &long_word, &long_number, &long_space}) {
      const auto ids = tokenizer->encode(*input, false, false);
      CHECK(tokenizer->decode(ids) == *input);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 2.0);  // generous: typically tens of milliseconds
  }
}

TEST_CASE("GPT-2 pre-tokenizer splits like the original regex", "[tokenizer][pre]") {
  CHECK(split("gpt2", "Hello world") == Words{"Hello", " world"});
  CHECK(split("gpt2", "I'm here, aren't you?") ==
        Words{"I", "'m", " here", ",", " aren", "'t", " you", "?"});
  CHECK(split("gpt2", "12345 apples") == Words{"12345", " apples"});
  // A whitespace run gives all but its last space to a word of its own.
  CHECK(split("gpt2", "a   b") == Words{"a", "  ", " b"});
  CHECK(split("gpt2", "a \n\n b") == Words{"a", " \n\n", " b"});
  CHECK(split("gpt2", "end  ") == Words{"end", "  "});
  CHECK(split("default", "x") == Words{"x"});
  // U+180E is no longer whitespace in Unicode (PCRE2's \s still matches it).
  CHECK(split("gpt2",
              "DE \xE1\xA0\x8E"
              "D\xC3\xA9") == Words{"DE", " \xE1\xA0\x8E", "D\xC3\xA9"});
  // U+3000 (ideographic space) is whitespace.
  CHECK(split("gpt2",
              "a\xE3\x80\x80"
              "b") == Words{"a", "\xE3\x80\x80", "b"});
}

TEST_CASE("Llama-3 pre-tokenizer splits like the original regex", "[tokenizer][pre]") {
  // Numbers in groups of at most three digits.
  CHECK(split("llama3", "1234567") == Words{"123", "456", "7"});
  CHECK(split("llama-bpe", "in 2024!") == Words{"in", " ", "202", "4", "!"});
  // Contractions are case-insensitive.
  CHECK(split("llama3", "I'M YOU'LL we'd") == Words{"I", "'M", " YOU", "'LL", " we", "'d"});
  // One non-letter may lead a word of letters; a second one (" _") goes to punctuation.
  CHECK(split("llama3", "$hello _world") == Words{"$hello", " _", "world"});
  // Newlines stay together with preceding whitespace; trailing spaces form their own word.
  CHECK(split("llama3", "a  \n\n  b") == Words{"a", "  \n\n", " ", " b"});
  CHECK(split("llama3", "hi!!\n\nthere") == Words{"hi", "!!\n\n", "there"});
  // The last tab before a word leads that word.
  CHECK(split("llama3", "tabs\t\tend\t") == Words{"tabs", "\t", "\tend", "\t"});
  CHECK(split("llama3", "日本語テキスト") == Words{"日本語テキスト"});
}

TEST_CASE("Qwen2 pre-tokenizer splits like the original regex", "[tokenizer][pre]") {
  // Qwen2's pattern uses \p{N} without a count: every digit is a word of its own.
  CHECK(split("qwen2", "1234567") == Words{"1", "2", "3", "4", "5", "6", "7"});
  CHECK(split("qwen2", "x=42;") == Words{"x", "=", "4", "2", ";"});
  CHECK(split("qwen2", "It's THEIR'S") == Words{"It", "'s", " THEIR", "'S"});
  CHECK(split("qwen2", "a   b") == Words{"a", "  ", " b"});
  CHECK(split("qwen2", "line1\r\nline2") == Words{"line", "1", "\r\n", "line", "2"});
}

TEST_CASE("DeepSeek LLM pre-tokenizer applies its patterns in order", "[tokenizer][pre]") {
  // Newlines first, then words of cased letters with one leading space, punctuation,
  // trailing whitespace, CJK and Hangul runs, digit runs (never cut into groups).
  CHECK(split("deepseek-llm", "Hello World") == Words{"Hello", " World"});
  CHECK(split("deepseek-llm", "3.14 ok\n") == Words{"3", ".", "14", " ok", "\n"});
  CHECK(split("deepseek-llm", "12345") == Words{"12345"});
  CHECK(split("deepseek-llm", "a  b") == Words{"a", " ", " b"});
  CHECK(split("deepseek-llm", "end   ") == Words{"end", "   "});
  CHECK(split("deepseek-llm", "中文abc") == Words{"中文", "abc"});
  // Greek is in the letter list; Khmer is not, but falls in the U+0800..U+4E00 range.
  CHECK(split("deepseek-llm", "Αθήνα ok ក") == Words{"Αθήνα", " ok", " ", "ក"});
  CHECK(split("deepseek-llm", "a！？") == Words{"a", "！？"});
  // The ideographic space joins the punctuation, but the later CJK range (which spans
  // U+3000) takes it out again. llama.cpp keeps "\u3000！" whole here: its std::regex
  // matching hides non-ASCII spaces from literal ranges.
  CHECK(split("deepseek-llm", "a\xE3\x80\x80！") == Words{"a", "\xE3\x80\x80", "！"});
}

TEST_CASE("DeepSeek Coder pre-tokenizer splits digits and punctuation", "[tokenizer][pre]") {
  // "=" is a symbol, not punctuation: it stays in the stretch between matches.
  CHECK(split("deepseek-coder", "x = 42;\n") == Words{"x", " = ", "4", "2", ";", "\n"});
  // " 世界" is a word of letters until the CJK pattern splits its space off.
  CHECK(split("deepseek-coder", "Hello, 世界") == Words{"Hello", ",", " ", "世界"});
}

TEST_CASE("DeepSeek V3 pre-tokenizer splits like its published patterns", "[tokenizer][pre]") {
  CHECK(split("deepseek-v3", "1234567") == Words{"123", "456", "7"});
  CHECK(split("deepseek-v3", "日本語のテキスト") == Words{"日本語のテキスト"});
  // One ASCII punctuation mark may lead a word of ASCII letters.
  CHECK(split("deepseek-v3", "a.b") == Words{"a", ".b"});
  CHECK(split("deepseek-v3", "Hello world!!") == Words{"Hello", " world", "!!"});
  CHECK(split("deepseek-v3", "x+=1") == Words{"x", "+=", "1"});
}

TEST_CASE("Falcon pre-tokenizer isolates punctuation and cuts digits in threes",
          "[tokenizer][pre]") {
  CHECK(split("falcon", "Hello, world!") == Words{"Hello", ",", " world", "!"});
  CHECK(split("falcon", "1234567 apples") == Words{"123", "456", "7", " apples"});
  CHECK(split("falcon", " 12345") == Words{" ", "123", "45"});
  CHECK(split("falcon", "a += b") == Words{"a", " ", "+=", " b"});
}

TEST_CASE("StarCoder-family pre-tokenizers isolate every digit", "[tokenizer][pre]") {
  for (const char* name : {"starcoder", "refact", "command-r", "smollm", "exaone"}) {
    INFO(name);
    CHECK(split(name, "abc 123") == Words{"abc", " ", "1", "2", "3"});
    CHECK(split(name, "x1y") == Words{"x", "1", "y"});
  }
}

TEST_CASE("default pre-tokenizer is llama.cpp's four-pattern default", "[tokenizer][pre]") {
  CHECK(split("default", "cost: $12345") == Words{"cost", ":", " ", "$", "123", "45"});
}

TEST_CASE("BLOOM-family pre-tokenizers split on spaces and a few marks", "[tokenizer][pre]") {
  // The parentheses and the bar are members of the excluded set, as in the original.
  CHECK(split("bloom", "Hello, world. (x|y)") ==
        Words{"Hello", ",", " world", ". (", "x", "|", "y", ")"});
  CHECK(split("poro-chat", "你好。世界") == Words{"你好", "。", "世界"});
  CHECK(split("viking", "abc123 x") == Words{"abc", "1", "2", "3", " x"});
}

TEST_CASE("Tekken pre-tokenizer splits words by case", "[tokenizer][pre]") {
  CHECK(split("tekken", "HelloWorld") == Words{"Hello", "World"});
  CHECK(split("tekken", "helloWorld HTMLParser ABC") ==
        Words{"hello", "World", " HTMLParser", " ABC"});
  CHECK(split("tekken", "12") == Words{"1", "2"});
  // "/" joins the punctuation before it; a newline too.
  CHECK(split("tekken", "a/b//c") == Words{"a", "/b", "//", "c"});
  CHECK(split("tekken", "x;\n") == Words{"x", ";\n"});
  // Case comes from Unicode categories, also outside ASCII.
  CHECK(split("tekken", "ÉcoleNormale") == Words{"École", "Normale"});
}

TEST_CASE("GPT-4o pre-tokenizer keeps contractions with their word", "[tokenizer][pre]") {
  CHECK(split("gpt-4o", "I'm here") == Words{"I'm", " here"});
  CHECK(split("llama4", "HELLO'S") == Words{"HELLO'S"});
  CHECK(split("gpt-4o", "1234567") == Words{"123", "456", "7"});
  CHECK(split("gpt-4o", "camelCase") == Words{"camel", "Case"});
}

TEST_CASE("SuperBPE pre-tokenizer splits only digits, in threes from the right",
          "[tokenizer][pre]") {
  CHECK(split("superbpe", "Hello world 1234567 ok") ==
        Words{"Hello world ", "1", "234", "567", " ok"});
  CHECK(split("superbpe", "123456") == Words{"123", "456"});
  CHECK(split("superbpe", "12") == Words{"12"});
}

TEST_CASE("BailingMoE, Seed-Coder and Chameleon pre-tokenizers", "[tokenizer][pre]") {
  CHECK(split("bailingmoe", "It's 42\n\nok") == Words{"It", "'s", " ", "4", "2", "\n\n", "ok"});
  // Unlike Qwen2, punctuation does not take the newlines after it.
  CHECK(split("seed-coder", "x;\n\ny") == Words{"x", ";", "\n\n", "y"});
  CHECK(split("qwen2", "x;\n\ny") == Words{"x", ";\n\n", "y"});
  CHECK(split("chameleon", "a  b") == Words{"a", "  ", "b"});
  CHECK(split("chameleon", "x=1,y") == Words{"x", "=", "1", ",", "y"});
}

TEST_CASE("pre-tokenizers know the Unicode 15 categories", "[tokenizer][pre]") {
  // U+31350 (CJK Extension H) is a letter, U+1FAE8 (shaking face) a symbol and U+11F50
  // (Kawi digit zero) a digit, although PCRE2 10.42's tables predate them.
  CHECK(split("gpt-2", "a\xF0\xB1\x8D\x90") == Words{"a\xF0\xB1\x8D\x90"});
  CHECK(split("deepseek-v3", "\xF0\x9F\xAB\xA8.") == Words{"\xF0\x9F\xAB\xA8."});
  CHECK(split("starcoder", "\xF0\x91\xBD\x90\xF0\x91\xBD\x91") ==
        Words{"\xF0\x91\xBD\x90", "\xF0\x91\xBD\x91"});
}

TEST_CASE("only Llama-3 and Tekken tokenizers take whole-word tokens", "[tokenizer][pre]") {
  CHECK(PreTokenizer("llama3").whole_word_tokens());
  CHECK(PreTokenizer("llama-bpe").whole_word_tokens());
  CHECK(PreTokenizer("tekken").whole_word_tokens());
  CHECK_FALSE(PreTokenizer("dbrx").whole_word_tokens());
  CHECK_FALSE(PreTokenizer("qwen2").whole_word_tokens());
  CHECK_FALSE(PreTokenizer("gpt-2").whole_word_tokens());
}

TEST_CASE("every known pre-tokenizer covers its input exactly", "[tokenizer][pre]") {
  const std::string text =
      "Hello, World! It's 2024\t\tx+=1;\r\n\n  中文 テキスト ÉCOLE école 🦙🫨 "
      "<sentinel:3> IMGIMGABZ \xE3\x80\x80 done\xff\xfe  ";
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string noise(512, '\0');
  for (char& c : noise) c = static_cast<char>(byte(random));
  for (std::string_view name : PreTokenizer::known_names()) {
    INFO(name);
    const PreTokenizer pre_tokenizer(name);
    for (const std::string& input : {text, noise}) {
      std::string joined;
      for (std::string_view word : pre_tokenizer.split(input)) {
        CHECK_FALSE(word.empty());
        joined += word;
      }
      CHECK(joined == input);
    }
  }
}

TEST_CASE("pre-tokenizer keeps malformed bytes as words of their own", "[tokenizer][pre]") {
  CHECK(split("llama3", std::string("ab\xff"
                                    "cd")) == Words{"ab", "\xff", "cd"});
  CHECK(split("gpt2", std::string("a \x80\x81 b")) == Words{"a", " ", "\x80\x81", " b"});
  CHECK_THROWS_WITH(PreTokenizer("nonexistent"), Catch::Contains("nonexistent"));
}

// ---- malformed metadata ------------------------------------------------------------------

namespace {

// Writes a GGUF v3 image holding metadata only.
class GgufBuilder {
 public:
  GgufBuilder& string(const std::string& key, const std::string& value) {
    entry(key, 8);
    put_string(value);
    return *this;
  }
  GgufBuilder& u32(const std::string& key, uint32_t value) {
    entry(key, 4);
    put(value);
    return *this;
  }
  GgufBuilder& i32(const std::string& key, int32_t value) {
    entry(key, 5);
    put(value);
    return *this;
  }
  GgufBuilder& boolean(const std::string& key, bool value) {
    entry(key, 7);
    put(static_cast<uint8_t>(value));
    return *this;
  }
  GgufBuilder& strings(const std::string& key, const std::vector<std::string>& values) {
    array_header(key, 8, values.size());
    for (const auto& value : values) put_string(value);
    return *this;
  }
  GgufBuilder& floats(const std::string& key, const std::vector<float>& values) {
    array_header(key, 6, values.size());
    for (float value : values) put(value);
    return *this;
  }
  GgufBuilder& ints(const std::string& key, const std::vector<int32_t>& values) {
    array_header(key, 5, values.size());
    for (int32_t value : values) put(value);
    return *this;
  }

  std::vector<std::byte> bytes() const {
    std::vector<std::byte> out;
    const auto append = [&](const void* data, size_t size) {
      const auto* first = static_cast<const std::byte*>(data);
      out.insert(out.end(), first, first + size);
    };
    append("GGUF", 4);
    const uint32_t version = 3;
    const uint64_t n_tensors = 0;
    append(&version, sizeof version);
    append(&n_tensors, sizeof n_tensors);
    append(&count_, sizeof count_);
    append(body_.data(), body_.size());
    return out;
  }

 private:
  template <typename T>
  void put(T value) {
    const auto* first = reinterpret_cast<const std::byte*>(&value);
    body_.insert(body_.end(), first, first + sizeof value);
  }
  void put_string(const std::string& text) {
    put(static_cast<uint64_t>(text.size()));
    const auto* first = reinterpret_cast<const std::byte*>(text.data());
    body_.insert(body_.end(), first, first + text.size());
  }
  void entry(const std::string& key, uint32_t type) {
    put_string(key);
    put(type);
    ++count_;
  }
  void array_header(const std::string& key, uint32_t element_type, size_t count) {
    entry(key, 9);
    put(element_type);
    put(static_cast<uint64_t>(count));
  }

  std::vector<std::byte> body_;
  uint64_t count_ = 0;
};

// A four-token SentencePiece vocabulary: <unk> <s> </s> ▁a.
GgufBuilder tiny_spm() {
  GgufBuilder builder;
  builder.string("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>",
                                         "\xE2\x96\x81"
                                         "a"});
  return builder;
}

hearth::Vocabulary load(const GgufBuilder& builder) {
  const auto bytes = builder.bytes();
  const auto file = hearth::gguf::File::parse(bytes, "tiny.gguf");
  return hearth::load_vocabulary(*file);
}

}  // namespace

TEST_CASE("a tiny in-memory vocabulary loads", "[tokenizer][vocab]") {
  auto builder = tiny_spm();
  builder.floats("tokenizer.ggml.scores", {0, 0, 0, -1})
      .ints("tokenizer.ggml.token_type", {2, 3, 3, 1})
      .u32("tokenizer.ggml.bos_token_id", 1)
      .u32("tokenizer.ggml.eos_token_id", 2)
      .u32("tokenizer.ggml.padding_token_id", 4294967295u)
      .i32("tokenizer.ggml.eot_token_id", -1);
  const hearth::Vocabulary vocab = load(builder);
  CHECK(vocab.model == "llama");
  CHECK(vocab.pre == "default");
  CHECK(vocab.bos == 1);
  CHECK(vocab.eos == 2);
  CHECK(vocab.unk == 0);  // SentencePiece default
  CHECK(vocab.pad == hearth::kNoToken);
  CHECK(vocab.eot == hearth::kNoToken);
  CHECK(vocab.add_bos);
  CHECK(vocab.add_space_prefix);
  const Tokenizer tokenizer(vocab);
  CHECK(tokenizer.encode("a", true, false) == std::vector<int32_t>{1, 3});
  // No byte tokens: characters outside the vocabulary become <unk>.
  CHECK(tokenizer.encode("ab", false, false) == std::vector<int32_t>{3, 0});
}

TEST_CASE("malformed vocabulary metadata is rejected with clear errors", "[tokenizer][vocab]") {
  using Catch::Contains;

  SECTION("scores length mismatch") {
    auto builder = tiny_spm();
    builder.floats("tokenizer.ggml.scores", {0, 0});
    CHECK_THROWS_WITH(
        load(builder),
        Contains("tiny.gguf") && Contains("tokenizer.ggml.scores has 2 entries, expected 4"));
  }
  SECTION("missing scores for SentencePiece") {
    CHECK_THROWS_WITH(load(tiny_spm()), Contains("tokenizer.ggml.scores is missing"));
  }
  SECTION("token_type length mismatch") {
    auto builder = tiny_spm();
    builder.floats("tokenizer.ggml.scores", {0, 0, 0, 0}).ints("tokenizer.ggml.token_type", {1});
    CHECK_THROWS_WITH(load(builder),
                      Contains("tokenizer.ggml.token_type has 1 entries, expected 4"));
  }
  SECTION("token type out of range") {
    auto builder = tiny_spm();
    builder.floats("tokenizer.ggml.scores", {0, 0, 0, 0})
        .ints("tokenizer.ggml.token_type", {2, 3, 3, 9});
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.token_type[3] is 9"));
  }
  SECTION("unknown tokenizer model") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "foo").strings("tokenizer.ggml.tokens", {"a"});
    CHECK_THROWS_WITH(load(builder), Contains("tiny.gguf") && Contains("tokenizer.ggml.model") &&
                                         Contains("\"foo\" is not a supported tokenizer"));
  }
  SECTION("missing tokenizer model") {
    GgufBuilder builder;
    builder.strings("tokenizer.ggml.tokens", {"a"});
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.model is missing"));
  }
  SECTION("token id out of range") {
    auto builder = tiny_spm();
    builder.floats("tokenizer.ggml.scores", {0, 0, 0, 0}).u32("tokenizer.ggml.bos_token_id", 7);
    CHECK_THROWS_WITH(
        load(builder),
        Contains("tokenizer.ggml.bos_token_id is 7, but the vocabulary has 4 tokens"));
  }
  SECTION("token id of the wrong type") {
    auto builder = tiny_spm();
    builder.floats("tokenizer.ggml.scores", {0, 0, 0, 0})
        .string("tokenizer.ggml.eos_token_id", "2");
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.eos_token_id has type"));
  }
  SECTION("tokens of the wrong type") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "llama").floats("tokenizer.ggml.tokens", {1});
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.tokens"));
  }
  SECTION("empty vocabulary") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", {});
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.tokens is empty"));
  }
  SECTION("BPE without merges") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "gpt2").strings("tokenizer.ggml.tokens", {"a", "b"});
    CHECK_THROWS_WITH(load(builder), Contains("tokenizer.ggml.merges is missing"));
  }
  SECTION("BPE with a malformed merge") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", {"a", "b", "ab"})
        .strings("tokenizer.ggml.merges", {"a b", "ab"});
    const auto vocab = load(builder);
    CHECK_THROWS_WITH(Tokenizer(vocab), Contains("tokenizer.ggml.merges[1] \"ab\""));
  }
  SECTION("BPE with an unknown pre-tokenizer") {
    GgufBuilder builder;
    builder.string("tokenizer.ggml.model", "gpt2")
        .string("tokenizer.ggml.pre", "mystery")
        .strings("tokenizer.ggml.tokens", {"a", "b", "ab"})
        .strings("tokenizer.ggml.merges", {"a b"});
    const auto vocab = load(builder);
    CHECK_THROWS_WITH(Tokenizer(vocab), Contains("tiny.gguf") && Contains("tokenizer.ggml.pre") &&
                                            Contains("mystery"));
  }
  SECTION("hand-built vocabulary with a bad id") {
    hearth::Vocabulary vocab;
    vocab.origin = "manual";
    vocab.model = "llama";
    vocab.tokens = {"a"};
    vocab.scores = {0};
    vocab.token_types = {hearth::TokenType::normal};
    vocab.eos = 5;
    CHECK_THROWS_WITH(Tokenizer(vocab), Contains("EOS token id 5 is out of range"));
  }
}

TEST_CASE("a tiny BPE vocabulary merges by rank", "[tokenizer][bpe]") {
  GgufBuilder builder;
  // Byte-level spelling: "Ġ" is the space.
  builder.string("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a", "b", "c", "\xC4\xA0", "ab", "bc", "abc",
                                         "\xC4\xA0"
                                         "a"})
      .strings("tokenizer.ggml.merges", {"b c", "a b", "a bc", "\xC4\xA0 a"});
  const Tokenizer tokenizer(load(builder));
  CHECK_FALSE(tokenizer.wants_bos());
  // "b c" outranks "a b", so "abc" is built as a + bc.
  CHECK(tokenizer.encode("abc", false, false) == std::vector<int32_t>{6});
  CHECK(tokenizer.encode("ab", false, false) == std::vector<int32_t>{4});
  CHECK(tokenizer.encode("cab a", false, false) == std::vector<int32_t>{2, 4, 7});
  CHECK(tokenizer.decode(std::vector<int32_t>{2, 4, 7}) == "cab a");
  // A byte the vocabulary cannot spell is dropped (there is no <unk>).
  CHECK(tokenizer.encode("a!", false, false) == std::vector<int32_t>{0});
}
