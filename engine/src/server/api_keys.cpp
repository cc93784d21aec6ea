#include "server/api_keys.h"

#include "hearth/error.h"
#include "hearth/text.h"

namespace hearth::server {
namespace {

constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr size_t kMaxKeyBytes = 512;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Equal contents and lengths, reading every byte of the longest key length whatever differs.
bool same_in_constant_time(std::string_view a, std::string_view b) {
  unsigned difference = a.size() != b.size();
  for (size_t i = 0; i < kMaxKeyBytes; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    difference |= x ^ y;
  }
  return difference == 0;
}

}  // namespace

ApiKeys ApiKeys::from_text(std::string_view text, const std::string& name) {
  ApiKeys keys;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = name + ":" + std::to_string(line_number);
    if (line.size() > kMaxKeyBytes) {
      throw Error(where + ": an API key is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
    }
    for (const char c : line) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        throw Error(where + ": an API key holds a space or a control character");
      }
    }
    keys.keys_.emplace_back(line);
  }
  if (keys.keys_.empty()) throw Error(name + ": the API key file holds no key");
  return keys;
}

ApiKeys ApiKeys::load(const std::string& path) {
  return from_text(read_text_file(path, "API key file", kMaxKeyFileBytes), path);
}

bool ApiKeys::allows(std::string_view authorization) const {
  if (keys_.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() < kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) {
    return false;
  }
  std::string_view given = trim(authorization.substr(kBearer.size()));
  if (given.size() > kMaxKeyBytes) return false;
  bool allowed = false;
  for (const std::string& key : keys_) allowed |= same_in_constant_time(key, given);
  return allowed;
}

}  // namespace hearth::server
