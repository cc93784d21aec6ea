#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace hearth::tokenizer {
namespace {

std::string encode_code_point(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

struct ByteLevelTables {
  std::array<std::string, 256> byte_to_text;
  std::array<int16_t, 512> code_point_to_byte;  // every mapped code point is below 512

  ByteLevelTables() {
    code_point_to_byte.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the rest (controls, space, 0x7F-0xA0,
    // soft hyphen) are shifted to 256 and up, in byte order.
    uint32_t next_shifted = 256;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                             (byte >= 0xAE && byte <= 0xFF);
      const uint32_t cp = printable ? byte : next_shifted++;
      byte_to_text[byte] = encode_code_point(cp);
      code_point_to_byte[cp] = static_cast<int16_t>(byte);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables instance;
  return instance;
}

// Code point of the well-formed sequence text[pos, pos + length).
uint32_t decode_code_point(std::string_view text, size_t pos, size_t length) {
  const auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(text[pos + i]));
  };
  switch (length) {
    case 1:
      return byte(0);
    case 2:
      return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
  }
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return tables().byte_to_text[byte]; }

bool byte_level_decode(std::string_view text, std::string& out) {
  const auto& map = tables().code_point_to_byte;
  bool all_mapped = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = utf8_char_length(text, pos);
    const uint32_t cp = decode_code_point(text, pos, length);
    const bool well_formed = length > 1 || static_cast<uint8_t>(text[pos]) < 0x80;
    if (well_formed && cp < map.size() && map[cp] >= 0) {
      out += static_cast<char>(map[cp]);
    } else {
      out.append(text.substr(pos, length));
      all_mapped = false;
    }
    pos += length;
  }
  return all_mapped;
}

void byte_level_encode(std::string_view bytes, std::string& out) {
  for (char byte : bytes) out += byte_to_unicode(static_cast<uint8_t>(byte));
}

}  // namespace hearth::tokenizer
