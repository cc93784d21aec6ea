#include "config/toml_limits.h"

#include "hearth/error.h"

namespace hearth {
namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Strings and comments are skipped exactly as TOML delimits them; outside them, every run of
// key parts joined by dots is counted, wherever it stands (key, header or value), so no
// misjudged context can let a deep key through. Valid values never hold such a run: numbers
// and times have at most one dot.
class Scanner {
 public:
  Scanner(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  void run() {
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '"' || c == '\'') {
        string(c);  // a quoted key part continues the run
      } else if (c == '.') {
        if (++run_parts_ > kMaxTomlKeyParts) {
          fail("key or table header with more than " + std::to_string(kMaxTomlKeyParts) +
               " dotted parts");
        }
        ++i_;
      } else if (is_bare_key_char(c) || c == ' ' || c == '\t') {
        ++i_;
      } else {
        run_parts_ = 1;
        if (c == '\n') {
          newline();
        } else if (c == '#') {
          while (i_ < text_.size() && text_[i_] != '\n') ++i_;
        } else {
          nesting(c);
          ++i_;
        }
      }
    }
  }

 private:
  void newline() {
    ++i_;
    ++line_;
    line_start_ = i_;
  }

  void nesting(char c) {
    if (c == '[' || c == '{') {
      if (++depth_ > kMaxTomlNesting) {
        fail("values nested more than " + std::to_string(kMaxTomlNesting) + " deep");
      }
    } else if ((c == ']' || c == '}') && depth_ > 0) {
      --depth_;
    }
  }

  // Skips the basic, literal or multi-line string that starts at i_ with quote `q`.
  void string(char q) {
    const std::string_view triple = q == '"' ? "\"\"\"" : "'''";
    const bool multi = text_.substr(i_, 3) == triple;
    i_ += multi ? 3 : 1;
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '\\' && q == '"') {
        ++i_;  // skip the escaped character, but leave a newline (line continuation) to count
        if (i_ < text_.size() && text_[i_] != '\n') ++i_;
        continue;
      }
      if (c == '\n') {
        if (!multi) return;  // unterminated: the parser reports it
        newline();
        continue;
      }
      if (c == q && (!multi || text_.substr(i_, 3) == triple)) {
        i_ += multi ? 3 : 1;
        // A multi-line string may end with one or two quotes of its own before the delimiter:
        // """a""""" is the text a"".
        for (int extra = 0; multi && extra < 2 && i_ < text_.size() && text_[i_] == q; ++extra) {
          ++i_;
        }
        return;
      }
      ++i_;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ":" + std::to_string(line_) + ":" + std::to_string(i_ - line_start_ + 1) +
                ": " + what + " (the limit of this reader)");
  }

  std::string_view text_;
  const std::string& path_;
  size_t i_ = 0, line_start_ = 0;
  int line_ = 1, depth_ = 0, run_parts_ = 1;
};

}  // namespace

void check_toml_limits(std::string_view text, const std::string& path) {
  Scanner(text, path).run();
}

}  // namespace hearth
