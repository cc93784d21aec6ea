// Python's string semantics over UTF-8 bytes. Templates index, slice, strip and case-map
// text as Python does (by code point, with Python's idea of whitespace), so a rendering
// matches jinja2's byte for byte; the text itself stays UTF-8 throughout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::chat {

// The byte offset where each code point starts, plus the text's size at the end. A byte that
// does not begin a well-formed sequence counts as one code point, so any bytes can be sliced.
std::vector<size_t> code_point_offsets(std::string_view text);
size_t code_point_count(std::string_view text);
// Decodes the code point at `at` and advances `at` past it (one byte for malformed input).
uint32_t decode_code_point(std::string_view text, size_t& at);
void append_utf8(std::string& out, uint32_t code_point);

// str.isspace() for one code point.
bool is_python_space(uint32_t code_point);

// str.strip/lstrip/rstrip: with `chars` empty, Python whitespace; otherwise any code point
// of `chars`.
std::string python_strip(std::string_view text, bool left, bool right, std::string_view chars = {},
                         bool chars_given = false);
// str.split(): on runs of whitespace when `separator` is absent, else on each separator
// (which must not be empty); at most `max_splits` splits when it is not negative.
std::vector<std::string> python_split(std::string_view text, const std::string* separator,
                                      int64_t max_splits);
// str.replace(old, new, count); an empty `from` inserts `to` between code points as Python does.
std::string python_replace(std::string_view text, std::string_view from, std::string_view to,
                           int64_t count);

// Case mapping for ASCII and Latin-1 letters (the rest are left as they are).
std::string python_upper(std::string_view text);
std::string python_lower(std::string_view text);
std::string python_capitalize(std::string_view text);  // str.capitalize()
std::string python_title(std::string_view text);       // str.title()
std::string jinja_title(std::string_view text);        // the `title` filter's word rule

// repr() of a string: quoted and escaped as Python prints it inside containers.
std::string python_string_repr(std::string_view text);
// repr() of a float ("1.0", "1e+20", "0.30000000000000004", "inf", "nan").
std::string python_float_repr(double value);

}  // namespace hearth::chat
