#include "chat/python_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hearth::chat {

uint32_t decode_code_point(std::string_view text, size_t& at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  int length = lead < 0x80         ? 1
               : (lead >> 5) == 6  ? 2
               : (lead >> 4) == 14 ? 3
               : (lead >> 3) == 30 ? 4
                                   : 0;
  if (length == 1 || length == 0 || at + length > text.size()) {
    ++at;
    return lead;
  }
  uint32_t cp = lead & (0x7f >> length);
  for (int i = 1; i < length; ++i) {
    const unsigned char next = byte(at + i);
    if ((next >> 6) != 2) {
      ++at;
      return lead;
    }
    cp = (cp << 6) | (next & 0x3f);
  }
  at += length;
  return cp;
}

std::vector<size_t> code_point_offsets(std::string_view text) {
  std::vector<size_t> offsets;
  offsets.reserve(text.size() + 1);
  for (size_t at = 0; at < text.size();) {
    offsets.push_back(at);
    decode_code_point(text, at);
  }
  offsets.push_back(text.size());
  return offsets;
}

size_t code_point_count(std::string_view text) {
  size_t count = 0;
  for (size_t at = 0; at < text.size(); ++count) decode_code_point(text, at);
  return count;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

bool is_python_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

namespace {

std::vector<uint32_t> decode_all(std::string_view text) {
  std::vector<uint32_t> cps;
  for (size_t at = 0; at < text.size();) cps.push_back(decode_code_point(text, at));
  return cps;
}

bool is_upper_letter(uint32_t cp) {
  return (cp >= 'A' && cp <= 'Z') || (cp >= 0xc0 && cp <= 0xde && cp != 0xd7);
}
bool is_lower_letter(uint32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 0xdf && cp <= 0xff && cp != 0xf7);
}

void append_upper(std::string& out, uint32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)) {
    append_utf8(out, cp - 0x20);
  } else if (cp == 0xdf) {
    out += "SS";
  } else if (cp == 0xff) {
    append_utf8(out, 0x178);
  } else {
    append_utf8(out, cp);
  }
}

void append_lower(std::string& out, uint32_t cp) {
  append_utf8(out, is_upper_letter(cp) ? cp + 0x20 : cp);
}

// Whether the text at `at` starts with `part` (an empty part never matches).
bool matches_at(std::string_view text, size_t at, std::string_view part) {
  return !part.empty() && text.compare(at, part.size(), part) == 0;
}

}  // namespace

std::string python_strip(std::string_view text, bool left, bool right, std::string_view chars,
                         bool chars_given) {
  const std::vector<size_t> offsets = code_point_offsets(text);
  const std::vector<uint32_t> strip_set = decode_all(chars);
  const auto strippable = [&](size_t index) {
    size_t at = offsets[index];
    const uint32_t cp = decode_code_point(text, at);
    if (!chars_given) return is_python_space(cp);
    for (uint32_t c : strip_set) {
      if (c == cp) return true;
    }
    return false;
  };
  size_t begin = 0, end = offsets.size() - 1;
  if (left) {
    while (begin < end && strippable(begin)) ++begin;
  }
  if (right) {
    while (end > begin && strippable(end - 1)) --end;
  }
  return std::string(text.substr(offsets[begin], offsets[end] - offsets[begin]));
}

std::vector<std::string> python_split(std::string_view text, const std::string* separator,
                                      int64_t max_splits) {
  std::vector<std::string> parts;
  if (separator) {
    size_t start = 0;
    while (max_splits < 0 || static_cast<int64_t>(parts.size()) < max_splits) {
      const size_t found = text.find(*separator, start);
      if (found == std::string_view::npos) break;
      parts.emplace_back(text.substr(start, found - start));
      start = found + separator->size();
    }
    parts.emplace_back(text.substr(start));
    return parts;
  }
  size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size()) {
      size_t next = at;
      if (!is_python_space(decode_code_point(text, next))) break;
      at = next;
    }
  };
  skip_space();
  while (at < text.size()) {
    if (max_splits >= 0 && static_cast<int64_t>(parts.size()) == max_splits) {
      parts.push_back(python_strip(text.substr(at), false, true));
      return parts;
    }
    const size_t start = at;
    while (at < text.size()) {
      size_t next = at;
      if (is_python_space(decode_code_point(text, next))) break;
      at = next;
    }
    parts.emplace_back(text.substr(start, at - start));
    skip_space();
  }
  return parts;
}

std::string python_replace(std::string_view text, std::string_view from, std::string_view to,
                           int64_t count) {
  std::string out;
  int64_t done = 0;
  if (from.empty()) {
    const std::vector<size_t> offsets = code_point_offsets(text);
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += text.substr(offsets[i], offsets[i + 1] - offsets[i]);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t at = 0;
  while (at < text.size()) {
    if ((count < 0 || done < count) && matches_at(text, at, from)) {
      out += to;
      at += from.size();
      ++done;
    } else {
      out += text[at++];
    }
  }
  return out;
}

std::string python_upper(std::string_view text) {
  std::string out;
  for (size_t at = 0; at < text.size();) append_upper(out, decode_code_point(text, at));
  return out;
}

std::string python_lower(std::string_view text) {
  std::string out;
  for (size_t at = 0; at < text.size();) append_lower(out, decode_code_point(text, at));
  return out;
}

std::string python_capitalize(std::string_view text) {
  std::string out;
  bool first = true;
  for (size_t at = 0; at < text.size(); first = false) {
    const uint32_t cp = decode_code_point(text, at);
    first ? append_upper(out, cp) : append_lower(out, cp);
  }
  return out;
}

std::string python_title(std::string_view text) {
  std::string out;
  bool previous_cased = false;
  for (size_t at = 0; at < text.size();) {
    const uint32_t cp = decode_code_point(text, at);
    previous_cased ? append_lower(out, cp) : append_upper(out, cp);
    previous_cased = is_upper_letter(cp) || is_lower_letter(cp);
  }
  return out;
}

std::string jinja_title(std::string_view text) {
  // Words begin after '-', whitespace or an opening bracket: the filter's own rule, not
  // str.title()'s (which also splits at apostrophes).
  std::string out;
  bool word_start = true;
  for (size_t at = 0; at < text.size();) {
    const uint32_t cp = decode_code_point(text, at);
    const bool boundary =
        cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || is_python_space(cp);
    if (boundary) {
      append_utf8(out, cp);
      word_start = true;
    } else {
      word_start ? append_upper(out, cp) : append_lower(out, cp);
      word_start = false;
    }
  }
  return out;
}

std::string python_string_repr(std::string_view text) {
  const bool has_single = text.find('\'') != std::string_view::npos;
  const bool has_double = text.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  char buffer[12];
  for (size_t at = 0; at < text.size();) {
    const uint32_t cp = decode_code_point(text, at);
    if (cp == '\\' || cp == static_cast<uint32_t>(quote)) {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
      std::snprintf(buffer, sizeof buffer, "\\x%02x", cp);
      out += buffer;
    } else if ((cp >= 0x2028 && cp <= 0x2029) || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff) {
      std::snprintf(buffer, sizeof buffer, "\\u%04x", cp);
      out += buffer;
    } else {
      append_utf8(out, cp);
    }
  }
  out += quote;
  return out;
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // The shortest digits that round-trip, laid out by Python's rule: positional for decimal
  // exponents from -4 to 15, scientific otherwise.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(value),
                                    std::chars_format::scientific);
  const std::string_view sci(buffer, result.ptr - buffer);
  const size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(sci.substr(e_at + 1)).c_str());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = std::signbit(value) ? "-" : "";
  const int n = static_cast<int>(digits.size());
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      if (n <= exponent + 1) {
        out += digits + std::string(exponent + 1 - n, '0') + ".0";
      } else {
        out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
      }
    } else {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  std::snprintf(buffer, sizeof buffer, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + buffer;
}

}  // namespace hearth::chat
