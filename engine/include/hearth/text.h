// hearth: text that crosses from files to an operator. Text from files (model metadata,
// tensor names, TOML keys, plugin strings) shown on a terminal could move the cursor, recolour
// or retitle it if its control characters went out raw; and a user-named file read into
// memory must be a regular file of bounded size (a FIFO would block, /dev/zero never ends).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth {

// C0 controls, DEL, C1 controls (U+0080..U+009F), bidirectional controls and bytes that are
// not valid UTF-8 become \xNN escapes (\n, \t and \r as such); a backslash becomes \\, so
// every escape in the result stands for exactly one byte of the input. Valid UTF-8 text
// stays as it is.
std::string printable(std::string_view text);

// The length (1..4) of the valid UTF-8 sequence that starts at text[i], or 0 when the bytes
// there are not one (overlong forms, surrogates and code points above U+10FFFF included).
size_t utf8_sequence_length(std::string_view text, size_t i);

// The whole contents of `path`, which must name a regular file (symbolic links followed) of
// at most `max_bytes` bytes. Otherwise throws hearth::Error "<what> '<path>': <reason>":
// missing, dangling link, directory, FIFO, device, socket, too large.
std::string read_text_file(const std::string& path, const char* what, size_t max_bytes);

}  // namespace hearth
