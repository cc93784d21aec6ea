// toml++ parses nested tables, dotted keys and nested arrays recursively, so a file with a key
// thousands of levels deep overflows the stack. This pass runs first, in one linear scan
// without recursion, and refuses such a file with its line before the parser sees it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth {

inline constexpr size_t kMaxDeployFileBytes = size_t{1} << 20;
inline constexpr int kMaxTomlKeyParts = 32;  // a.b.c in one key or table header
inline constexpr int kMaxTomlNesting = 32;   // arrays and inline tables inside one another

// Throws hearth::Error "<path>:<line>:<column>: ..." when a key or table header has more than
// kMaxTomlKeyParts parts, or values nest more than kMaxTomlNesting deep. Anything else
// (including malformed TOML) is left for the parser to judge.
void check_toml_limits(std::string_view text, const std::string& path);

}  // namespace hearth
