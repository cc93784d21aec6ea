// API keys: read from a file (one per line, '#' comments, surrounding blanks ignored) and
// checked in time that does not depend on where a guess first differs, nor on which key it
// matches, so a client cannot find a key byte by byte from response times.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: every request is allowed
  // Throws hearth::Error naming the file (and line) when it cannot be read, holds no key, or
  // holds a key with a control character or a space inside.
  static ApiKeys load(const std::string& path);
  static ApiKeys from_text(std::string_view text, const std::string& name);

  bool required() const { return !keys_.empty(); }
  // Whether an Authorization header's value ("Bearer KEY") carries one of the keys.
  bool allows(std::string_view authorization) const;

 private:
  std::vector<std::string> keys_;
};

}  // namespace hearth::server
