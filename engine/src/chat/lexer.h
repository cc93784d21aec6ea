// Splits template source into text and the tokens inside {{ }} and {% %} tags, applying
// whitespace control as Hugging Face configures jinja2: `-` strips, `+` keeps,
// trim_blocks drops the newline after a block or comment tag, lstrip_blocks drops the
// indentation before one; comments vanish. Newlines are normalised to "\n" and one trailing
// newline is dropped, as jinja2 does by default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::chat {

struct Position {
  int line = 1;
  int column = 1;
};

enum class TokenKind {
  text,
  output_begin,  // {{
  output_end,    // }}
  block_begin,   // {%
  block_end,     // %}
  name,
  string,
  integer,
  real,
  op,  // punctuation and operators, in `text`
  end,
};

struct Token {
  TokenKind kind;
  std::string text;  // text, name, string (unescaped) or operator
  int64_t integer = 0;
  double real = 0;
  Position at;
};

// Throws hearth::Error "<name>:<line>:<column>: ..." for an unclosed tag, comment or string,
// or a character no token begins with.
std::vector<Token> lex(std::string_view source, const std::string& name);

// "<name>:<line>:<column>: <message>".
std::string located(const std::string& name, Position at, const std::string& message);

}  // namespace hearth::chat
