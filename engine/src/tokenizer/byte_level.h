// GPT-2's reversible mapping between bytes and printable Unicode characters: byte-level
// BPE vocabularies spell every byte as one such character (a space is "Ġ", U+0120).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::tokenizer {

// UTF-8 text of the character that stands for `byte`.
const std::string& byte_to_unicode(uint8_t byte);

// Appends to `out` the bytes that `text` spells in byte-level characters. Returns false
// when `text` contains a character outside the mapping; such characters are copied as-is.
bool byte_level_decode(std::string_view text, std::string& out);

// Appends the byte-level spelling of `bytes` to `out`.
void byte_level_encode(std::string_view bytes, std::string& out);

}  // namespace hearth::tokenizer
