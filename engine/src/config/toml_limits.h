// toml++ builds a table for every part of a dotted key or table header and frees them
// recursively, so a key such as a.a.a… with 100,000 parts overflows the stack. This pass runs
// first, in one linear scan without recursion, and refuses such a file with its line before
// the parser sees it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth {

inline constexpr size_t kMaxDeployFileBytes = size_t{1} << 20;
inline constexpr int kMaxTomlKeyParts = 32;  // a.b.c in one key or table header
inline constexpr int kMaxTomlNesting = 32;   // arrays and inline tables inside one another

// Throws hearth::Error "<path>:<line>:<column>: ..." when a dotted key or table header has
// more than kMaxTomlKeyParts parts, or values nest more than kMaxTomlNesting deep. Anything
// else (including malformed TOML) is left for the parser to judge.
void check_toml_limits(std::string_view text, const std::string& path);

}  // namespace hearth
