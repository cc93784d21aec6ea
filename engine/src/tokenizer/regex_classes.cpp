#include "tokenizer/regex_classes.h"

#include <array>

namespace hearth::tokenizer {
namespace {

constexpr std::string_view kWhiteSpaceChars =
    R"(\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

struct CategoryAdditions {
  std::string_view category;  // two-letter general category
  std::string_view ranges;    // PCRE2 bracket-expression syntax
};

// Code points assigned in Unicode 15.0 and 15.1, by general category (format characters
// left out: no pattern uses \p{C}). Unicode 15.0 from ICU 72's tables; 15.1 added CJK
// Extension I (U+2EBF0..U+2EE5D), U+2FFC..U+2FFF and U+31EF.
constexpr std::array kUnicode15Additions = {
    CategoryAdditions{"Ll", R"(\x{1DF25}-\x{1DF2A})"},
    CategoryAdditions{"Lm", R"(\x{1E030}-\x{1E06D}\x{1E4EB})"},
    CategoryAdditions{"Lo", R"(\x{1123F}-\x{11240}\x{11F02}\x{11F04}-\x{11F10}\x{11F12}-\x{11F33})"
                            R"(\x{1342F}\x{13441}-\x{13446}\x{1B132}\x{1B155}\x{1E4D0}-\x{1E4EA})"
                            R"(\x{2B739}\x{2EBF0}-\x{2EE5D}\x{31350}-\x{323AF})"},
    CategoryAdditions{"Mc", R"(\x{0CF3}\x{11F03}\x{11F34}-\x{11F35}\x{11F3E}-\x{11F3F}\x{11F41})"},
    CategoryAdditions{"Mn", R"(\x{0ECE}\x{10EFD}-\x{10EFF}\x{11241}\x{11F00}-\x{11F01})"
                            R"(\x{11F36}-\x{11F3A}\x{11F40}\x{11F42}\x{13440}\x{13447}-\x{13455})"
                            R"(\x{1E08F}\x{1E4EC}-\x{1E4EF})"},
    CategoryAdditions{"Nd", R"(\x{11F50}-\x{11F59}\x{1E4F0}-\x{1E4F9})"},
    CategoryAdditions{"No", R"(\x{1D2C0}-\x{1D2D3})"},
    CategoryAdditions{"Po", R"(\x{11B00}-\x{11B09}\x{11F43}-\x{11F4F})"},
    CategoryAdditions{"So", R"(\x{1F6DC}\x{1F774}-\x{1F776}\x{1F77B}-\x{1F77F}\x{1F7D9})"
                            R"(\x{1FA75}-\x{1FA77}\x{1FA87}-\x{1FA88}\x{1FAAD}-\x{1FAAF})"
                            R"(\x{1FABB}-\x{1FABD}\x{1FABF}\x{1FACE}-\x{1FACF}\x{1FADA}-\x{1FADB})"
                            R"(\x{1FAE8}\x{1FAF7}-\x{1FAF8}\x{2FFC}-\x{2FFF}\x{31EF})"},
};

// The additions for a one-letter category ("L": every "L?") or a two-letter one ("Lo").
std::string additions_for(std::string_view category) {
  std::string ranges;
  for (const CategoryAdditions& additions : kUnicode15Additions) {
    if (additions.category.starts_with(category)) ranges += additions.ranges;
  }
  return ranges;
}

}  // namespace

std::string with_reference_unicode_classes(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 2);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's' || (next == 'S' && !in_class)) {
        if (in_class) {
          out += kWhiteSpaceChars;
        } else {
          out += next == 's' ? "[" : "[^";
          out += kWhiteSpaceChars;
          out += ']';
        }
        ++i;
        continue;
      }
      const size_t close = pattern.find('}', i);
      if (next == 'p' && i + 2 < pattern.size() && pattern[i + 2] == '{' &&
          close != std::string_view::npos) {
        const std::string_view property = pattern.substr(i, close + 1 - i);
        const std::string extra = additions_for(pattern.substr(i + 3, close - i - 3));
        if (in_class || extra.empty()) {
          out += property;
          out += extra;
        } else {
          out += '[';
          out += property;
          out += extra;
          out += ']';
        }
        i = close;
        continue;
      }
      out += c;
      out += next;
      ++i;
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace hearth::tokenizer
