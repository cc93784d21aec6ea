#include "tokenizer/utf8.h"

#include <cstdint>

namespace hearth::tokenizer {
namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Expected sequence length for a lead byte, 0 for bytes that cannot start a sequence.
size_t expected_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Range of the second byte allowed after `lead` (RFC 3629 table): rules out overlong
// forms, surrogates and code points above U+10FFFF.
bool second_byte_ok(unsigned char lead, unsigned char second) {
  switch (lead) {
    case 0xE0:
      return second >= 0xA0 && second <= 0xBF;
    case 0xED:
      return second >= 0x80 && second <= 0x9F;
    case 0xF0:
      return second >= 0x90 && second <= 0xBF;
    case 0xF4:
      return second >= 0x80 && second <= 0x8F;
    default:
      return is_continuation(second);
  }
}

// How many bytes of text[pos..] match a well-formed prefix of the sequence `lead` starts.
size_t valid_prefix(std::string_view text, size_t pos, size_t length) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  size_t matched = 1;
  while (matched < length && pos + matched < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos + matched]);
    const bool ok = matched == 1 ? second_byte_ok(lead, byte) : is_continuation(byte);
    if (!ok) break;
    ++matched;
  }
  return matched;
}

}  // namespace

size_t utf8_char_length(std::string_view text, size_t pos) {
  const size_t length = expected_length(static_cast<unsigned char>(text[pos]));
  if (length <= 1) return 1;
  return valid_prefix(text, pos, length) == length ? length : 1;
}

size_t utf8_incomplete_tail(std::string_view text) {
  // A sequence is at most 4 bytes, so an unfinished one starts in the last 3.
  const size_t lookback = text.size() < 3 ? text.size() : 3;
  for (size_t back = 1; back <= lookback; ++back) {
    const size_t pos = text.size() - back;
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (is_continuation(byte)) continue;
    const size_t length = expected_length(byte);
    if (length <= back) return 0;  // complete, ASCII, or not a lead byte at all
    return valid_prefix(text, pos, length) == back ? back : 0;
  }
  return 0;
}

}  // namespace hearth::tokenizer
