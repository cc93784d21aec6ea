#include "config/toml_limits.h"

#include <vector>

#include "hearth/error.h"

namespace hearth {
namespace {

class Scanner {
 public:
  Scanner(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  void run() {
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '\n') {
        newline();
        continue;
      }
      if (c == '#') {
        while (i_ < text_.size() && text_[i_] != '\n') ++i_;
        continue;
      }
      if (c == '"' || c == '\'') {
        string(c);
        continue;
      }
      if (at_line_start_ && containers_.empty() && c == '[') {
        header();
        continue;
      }
      if (c != ' ' && c != '\t' && c != '\r') at_line_start_ = false;
      if (containers_.empty() || containers_.back() == '{') {
        if (in_key_ && c == '.') count_key_part();
        if (c == '=') in_key_ = false;
      }
      if (c == '[' || c == '{') {
        if (in_key_ && c == '[') {  // not a header (those start a line): leave it to the parser
          ++i_;
          continue;
        }
        containers_.push_back(c);
        if (static_cast<int>(containers_.size()) > kMaxTomlNesting) {
          fail("values nested more than " + std::to_string(kMaxTomlNesting) + " deep");
        }
        if (c == '{') start_key();
      } else if ((c == ']' || c == '}') && !containers_.empty()) {
        containers_.pop_back();
      } else if (c == ',' && !containers_.empty() && containers_.back() == '{') {
        start_key();
      }
      ++i_;
    }
  }

 private:
  void newline() {
    ++i_;
    ++line_;
    line_start_ = i_;
    if (containers_.empty()) {
      at_line_start_ = true;
      start_key();
    }
  }

  void start_key() {
    in_key_ = true;
    key_parts_ = 1;
  }

  void count_key_part() {
    if (++key_parts_ > kMaxTomlKeyParts) {
      fail("key with more than " + std::to_string(kMaxTomlKeyParts) + " dotted parts");
    }
  }

  // [a.b.c] or [[a.b.c]]: dots outside quotes separate parts.
  void header() {
    at_line_start_ = false;
    in_key_ = false;
    key_parts_ = 1;
    ++i_;
    while (i_ < text_.size() && text_[i_] != '\n' && text_[i_] != ']') {
      const char c = text_[i_];
      if (c == '"' || c == '\'') {
        string(c);
        continue;
      }
      if (c == '.' && ++key_parts_ > kMaxTomlKeyParts) {
        fail("table header with more than " + std::to_string(kMaxTomlKeyParts) + " dotted parts");
      }
      ++i_;
    }
  }

  // Skips a basic, literal or multi-line string starting at i_ (quote `q`).
  void string(char q) {
    at_line_start_ = false;
    const bool multi = text_.substr(i_, 3) == std::string_view(q == '"' ? "\"\"\"" : "'''");
    i_ += multi ? 3 : 1;
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '\\' && q == '"') {
        i_ += 2;
        continue;
      }
      if (c == '\n') {
        if (!multi) return;  // unterminated: the parser reports it
        ++line_;
        line_start_ = i_ + 1;
      }
      if (c == q &&
          (!multi || text_.substr(i_, 3) == std::string_view(q == '"' ? "\"\"\"" : "'''"))) {
        i_ += multi ? 3 : 1;
        return;
      }
      ++i_;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ":" + std::to_string(line_) + ":" + std::to_string(i_ - line_start_ + 1) +
                ": " + what + " (limit of this reader)");
  }

  std::string_view text_;
  const std::string& path_;
  size_t i_ = 0, line_start_ = 0;
  int line_ = 1;
  bool at_line_start_ = true, in_key_ = true;
  int key_parts_ = 1;
  std::vector<char> containers_;
};

}  // namespace

void check_toml_limits(std::string_view text, const std::string& path) {
  Scanner(text, path).run();
}

}  // namespace hearth
