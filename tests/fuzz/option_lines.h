// Fuzz input for plugin option readers: lines of KEY=VALUE, as a deployment's
// [plugins.options] hands them over (a line without '=' is skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

inline std::vector<std::pair<std::string, std::string>> option_lines(const uint8_t* data,
                                                                     size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> entries;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const size_t equals = line.find('=');
    if (equals != std::string::npos)
      entries.push_back({line.substr(0, equals), line.substr(equals + 1)});
    start = end + 1;
  }
  return entries;
}
