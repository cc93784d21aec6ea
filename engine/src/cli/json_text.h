// Text as a JSON string literal, for the commands that print --json.
#pragma once

#include <string>

namespace hearth::cli {

// Quotes `text`: '"' and '\' escaped, control characters as \n, \t or \u00XX, and bytes that
// are not valid UTF-8 replaced with U+FFFD, so any model output prints as valid JSON.
std::string json_quote(const std::string& text);

}  // namespace hearth::cli
