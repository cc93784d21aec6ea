// Rewrites the character classes of a pre-tokenizer pattern so that PCRE2 matches them the
// way the tokenizers' reference implementations do (Unicode White_Space for \s, Unicode
// 15.1 general categories for \p{..}).
#pragma once

#include <string>
#include <string_view>

namespace hearth::tokenizer {

// Returns `pattern` with
//   \s and \S spelled out as the Unicode White_Space characters: PCRE2's \s also matches
//     U+180E (Mongolian vowel separator), which Unicode no longer counts as a space and
//     which the reference tokenizers do not treat as one;
//   \p{X} and \p{Xy} extended with the code points that Unicode 15.0 and 15.1 assigned to
//     that category: PCRE2 10.42 (Debian 12) knows Unicode 14 only, so without them new
//     emoji, CJK Extension H/I ideographs and a few scripts would fall outside \p{S} and
//     \p{L} here while llama.cpp and Hugging Face tokenizers put them inside.
// Works inside and outside bracket expressions; the patterns it is given contain no POSIX
// classes and no nested brackets.
std::string with_reference_unicode_classes(std::string_view pattern);

}  // namespace hearth::tokenizer
