// Builds the syntax tree from tokens: jinja2's grammar and precedence for the statements and
// expressions chat templates use. Anything else (include, extends, raw, call blocks, an
// unknown filter or test) is refused here, at load time, with its line and column.
#pragma once

#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace hearth::chat {

// Throws hearth::Error "<name>:<line>:<column>: ..." for a syntax error, an unsupported
// construct, or nesting deeper than kMaxParseDepth.
Body parse_template(std::vector<Token> tokens, const std::string& name);

}  // namespace hearth::chat
