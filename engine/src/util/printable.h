// Text from files (model metadata, tensor names, TOML keys) is shown to an operator's
// terminal; control characters in it could move the cursor, recolour or retitle the
// terminal. printable() escapes them, leaving valid UTF-8 text as it is.
#pragma once

#include <string>
#include <string_view>

namespace hearth::util {

// C0 controls, DEL, C1 controls (U+0080..U+009F), bidirectional controls and bytes that are
// not valid UTF-8 become \xNN escapes (\n, \t and \r as such); a backslash becomes \\, so
// every escape in the result stands for exactly one byte of the input.
std::string printable(std::string_view text);

}  // namespace hearth::util
