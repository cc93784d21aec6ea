#include "chat/lexer.h"

#include <algorithm>
#include <cmath>

#include "chat/python_text.h"
#include "hearth/error.h"

namespace hearth::chat {

std::string located(const std::string& name, Position at, const std::string& message) {
  return name + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " + message;
}

namespace {

std::string normalise_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string source, const std::string& name) : src_(std::move(source)), name_(name) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (true) {
      const size_t start = next_tag(pos);
      std::string text =
          src_.substr(pos, start == std::string::npos ? std::string::npos : start - pos);
      if (start == std::string::npos) {
        emit_text(std::move(text), pos);
        break;
      }
      const char kind = src_[start + 1];
      const char sign =
          start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+')
              ? src_[start + 2]
              : 0;
      if (sign == '-') {
        text = python_strip(text, false, true);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: a block or comment tag alone on its line loses its indentation.
        const size_t line_start = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((line_start > 0 || line_starting) && line_start < text.size() &&
            only_whitespace(std::string_view(text).substr(line_start))) {
          text.resize(line_start);
        }
      }
      emit_text(std::move(text), pos);
      const size_t inner = start + 2 + (sign ? 1 : 0);
      pos = kind == '#' ? skip_comment(start, inner) : lex_tag(start, inner, kind);
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    tokens_.push_back({TokenKind::end, "", 0, 0, position(src_.size())});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    throw Error(located(name_, position(offset), message));
  }

  // Tokens are positioned in source order, so the column is counted on from the last one:
  // a single long line costs linear time, not quadratic.
  Position position(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
    const size_t line_start = *it;
    const int line = static_cast<int>(it - line_starts_.begin()) + 1;
    size_t from = line_start;
    int column = 1;
    if (cached_line_ == line && cached_offset_ <= offset) {
      from = cached_offset_;
      column = cached_column_;
    }
    column +=
        static_cast<int>(code_point_count(std::string_view(src_).substr(from, offset - from)));
    cached_line_ = line;
    cached_offset_ = offset;
    cached_column_ = column;
    return {line, column};
  }

  size_t next_tag(size_t from) const {
    for (size_t at = src_.find('{', from); at != std::string::npos; at = src_.find('{', at + 1)) {
      if (at + 1 < src_.size() &&
          (src_[at + 1] == '{' || src_[at + 1] == '%' || src_[at + 1] == '#')) {
        return at;
      }
    }
    return std::string::npos;
  }

  static bool only_whitespace(std::string_view text) {
    for (size_t at = 0; at < text.size();) {
      if (!is_python_space(decode_code_point(text, at))) return false;
    }
    return true;
  }

  size_t skip_whitespace(size_t at) const {
    while (at < src_.size()) {
      size_t next = at;
      if (!is_python_space(decode_code_point(src_, next))) break;
      at = next;
    }
    return at;
  }

  void emit_text(std::string text, size_t offset) {
    if (!text.empty())
      tokens_.push_back({TokenKind::text, std::move(text), 0, 0, position(offset)});
  }

  // Where text resumes after a tag's end: `-` strips what follows, trim_blocks drops one
  // newline after a block or comment unless `+` keeps it.
  size_t after_tag(size_t at, char sign, bool block) const {
    if (sign == '-') return skip_whitespace(at);
    if (sign != '+' && block && at < src_.size() && src_[at] == '\n') return at + 1;
    return at;
  }

  size_t skip_comment(size_t start, size_t inner) const {
    const size_t close = src_.find("#}", inner);
    if (close == std::string::npos) fail(start, "comment is never closed with '#}'");
    const char sign =
        close > inner && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    return after_tag(close + 2, sign, true);
  }

  size_t lex_tag(size_t start, size_t inner, char kind) {
    const bool block = kind == '%';
    tokens_.push_back(
        {block ? TokenKind::block_begin : TokenKind::output_begin, "", 0, 0, position(start)});
    const char closer = block ? '%' : '}';
    int brackets = 0;
    size_t at = inner;
    while (true) {
      at = skip_whitespace(at);
      if (at >= src_.size()) {
        fail(start, block ? "block tag is never closed with '%}'"
                          : "expression is never closed with '}}'");
      }
      if (brackets == 0) {
        const char c = src_[at];
        const bool signed_end = (c == '-' || (c == '+' && block)) &&
                                src_.compare(at + 1, 2, std::string{closer, '}'}) == 0;
        if (signed_end || src_.compare(at, 2, std::string{closer, '}'}) == 0) {
          tokens_.push_back(
              {block ? TokenKind::block_end : TokenKind::output_end, "", 0, 0, position(at)});
          return after_tag(at + (signed_end ? 3 : 2), signed_end ? c : 0, block);
        }
      }
      at = lex_token(at, brackets);
    }
  }

  size_t lex_token(size_t at, int& brackets) {
    const char c = src_[at];
    const Position where = position(at);
    if (is_name_start(c)) {
      size_t end = at;
      while (end < src_.size() && is_name_char(src_[end])) ++end;
      tokens_.push_back({TokenKind::name, src_.substr(at, end - at), 0, 0, where});
      return end;
    }
    if (is_digit(c)) return lex_number(at, where);
    if (c == '\'' || c == '"') return lex_string(at, where);
    static const char* const kTwoCharOps[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwoCharOps) {
      if (src_.compare(at, 2, op) == 0) {
        tokens_.push_back({TokenKind::op, op, 0, 0, where});
        return at + 2;
      }
    }
    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++brackets;
      if ((c == ')' || c == ']' || c == '}') && brackets > 0) --brackets;
      tokens_.push_back({TokenKind::op, std::string(1, c), 0, 0, where});
      return at + 1;
    }
    fail(at, "unexpected character '" + std::string(1, c) + "' in a tag");
  }

  size_t lex_number(size_t at, Position where) {
    const auto digits = [&](size_t from) {
      size_t end = from;
      while (end < src_.size() &&
             (is_digit(src_[end]) ||
              (src_[end] == '_' && end + 1 < src_.size() && is_digit(src_[end + 1]))))
        ++end;
      return end;
    };
    size_t end = digits(at);
    bool real = false;
    // After '.', digits are an attribute (x.0), never the tail of a float.
    const bool after_dot =
        !tokens_.empty() && tokens_.back().kind == TokenKind::op && tokens_.back().text == ".";
    if (!after_dot && end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      end = digits(end + 1);
      real = true;
    }
    if (!after_dot && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-')) ++exp;
      if (exp < src_.size() && is_digit(src_[exp])) {
        end = digits(exp);
        real = true;
      }
    }
    std::string text;
    for (size_t i = at; i < end; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    Token token{real ? TokenKind::real : TokenKind::integer, text, 0, 0, where};
    if (real) {
      token.real = std::strtod(text.c_str(), nullptr);
    } else {
      errno = 0;
      char* stop = nullptr;
      const long long v = std::strtoll(text.c_str(), &stop, 10);
      if (errno == ERANGE) fail(at, "integer " + text + " is too large");
      token.integer = v;
    }
    tokens_.push_back(std::move(token));
    return end;
  }

  size_t lex_string(size_t at, Position where) {
    const char quote = src_[at];
    std::string value;
    size_t i = at + 1;
    while (true) {
      if (i >= src_.size()) fail(at, "string is never closed");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\' || i + 1 >= src_.size()) {
        value += c;
        ++i;
        continue;
      }
      i = unescape(i, value);
    }
    tokens_.push_back({TokenKind::string, std::move(value), 0, 0, where});
    return i + 1;
  }

  // Python's escapes in a string literal, starting at the backslash; returns the offset after.
  size_t unescape(size_t at, std::string& value) const {
    const char e = src_[at + 1];
    const auto hex = [&](size_t from, int count, uint32_t& cp) {
      if (from + count > src_.size()) return false;
      cp = 0;
      for (int k = 0; k < count; ++k) {
        const char h = src_[from + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
        cp = cp * 16 + (is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return true;
    };
    switch (e) {
      case 'n':
        value += '\n';
        return at + 2;
      case 't':
        value += '\t';
        return at + 2;
      case 'r':
        value += '\r';
        return at + 2;
      case '\\':
        value += '\\';
        return at + 2;
      case '\'':
        value += '\'';
        return at + 2;
      case '"':
        value += '"';
        return at + 2;
      case 'a':
        value += '\a';
        return at + 2;
      case 'b':
        value += '\b';
        return at + 2;
      case 'f':
        value += '\f';
        return at + 2;
      case 'v':
        value += '\v';
        return at + 2;
      case '\n':
        return at + 2;
      default:
        break;
    }
    if (e >= '0' && e <= '7') {
      uint32_t cp = 0;
      size_t k = at + 1;
      for (int n = 0; n < 3 && k < src_.size() && src_[k] >= '0' && src_[k] <= '7'; ++n, ++k)
        cp = cp * 8 + (src_[k] - '0');
      append_utf8(value, cp);
      return k;
    }
    const int width = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (width) {
      uint32_t cp = 0;
      if (!hex(at + 2, width, cp) || cp > 0x10ffff)
        fail(at, std::string("malformed \\") + e + " escape in a string");
      append_utf8(value, cp);
      return at + 2 + width;
    }
    value += '\\';
    return at + 1;
  }

  std::string src_;
  const std::string& name_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  mutable int cached_line_ = 0;
  mutable size_t cached_offset_ = 0;
  mutable int cached_column_ = 1;
};

}  // namespace

std::vector<Token> lex(std::string_view source, const std::string& name) {
  return Lexer(normalise_newlines(source), name).run();
}

}  // namespace hearth::chat
