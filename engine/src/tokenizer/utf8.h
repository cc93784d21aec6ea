// UTF-8 helpers that accept malformed input: tokenizers must handle any byte string.
#pragma once

#include <cstddef>
#include <string_view>

namespace hearth::tokenizer {

// Length of the well-formed UTF-8 sequence starting at text[pos], or 1 when the bytes
// there are not one (a stray continuation byte, an overlong or truncated sequence), so
// that malformed input advances one byte at a time.
size_t utf8_char_length(std::string_view text, size_t pos);

// Number of bytes at the end of `text` that begin a well-formed sequence but stop before
// it is complete (0..3); a streaming decoder holds these back until more bytes arrive.
size_t utf8_incomplete_tail(std::string_view text);

}  // namespace hearth::tokenizer
