#include <cstdint>
#include <cstdio>

#include "hearth/text.h"

namespace hearth {
namespace {

void append_hex(std::string& out, uint8_t byte) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", byte);
  out += buf;
}

// U+200E/200F and U+202A..202E, U+2066..2069 reorder the text around them on display, so a
// name could show something other than what it is.
bool is_direction_control(std::string_view s) {
  if (s.size() != 3 || static_cast<uint8_t>(s[0]) != 0xE2) return false;
  const auto b1 = static_cast<uint8_t>(s[1]), b2 = static_cast<uint8_t>(s[2]);
  return (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) ||
         (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9);
}

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const uint8_t lead = b(0);
  size_t n = lead < 0x80           ? 1
             : (lead >> 5) == 0x6  ? 2
             : (lead >> 4) == 0xE  ? 3
             : (lead >> 3) == 0x1E ? 4
                                   : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && lead < 0xC2) return 0;                                      // overlong
  if (n == 3 && lead == 0xE0 && b(1) < 0xA0) return 0;                      // overlong
  if (n == 3 && lead == 0xED && b(1) >= 0xA0) return 0;                     // surrogate
  if (n == 4 && lead == 0xF0 && b(1) < 0x90) return 0;                      // overlong
  if (n == 4 && (lead > 0xF4 || (lead == 0xF4 && b(1) >= 0x90))) return 0;  // > U+10FFFF
  return n;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      append_hex(out, c);
      ++i;
      continue;
    }
    const bool c0_or_del = n == 1 && (c < 0x20 || c == 0x7F);
    const bool c1 = n == 2 && c == 0xC2 && static_cast<uint8_t>(text[i + 1]) < 0xA0;
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c0_or_del) {
      append_hex(out, c);
    } else if (c1 || is_direction_control(text.substr(i, n))) {
      for (size_t k = 0; k < n; ++k) append_hex(out, static_cast<uint8_t>(text[i + k]));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace hearth
