#include "api/prometheus_text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace hearth::detail {
namespace {

std::string metric_name(const std::string& text) {
  std::string name;
  for (unsigned char c : text) name += std::isalnum(c) ? static_cast<char>(c) : '_';
  return name;
}

bool is_number(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(v);
}

std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string prometheus_text(const std::vector<std::pair<std::string, Snapshot>>& plugins) {
  std::string out;
  for (const auto& [plugin, entries] : plugins) {
    const std::string prefix = "hearth_" + metric_name(plugin) + "_";
    std::string labels;
    for (const auto& [key, value] : entries) {
      if (!is_number(value)) {
        labels +=
            (labels.empty() ? "" : ",") + metric_name(key) + "=\"" + label_value(value) + "\"";
        continue;
      }
      const std::string name = prefix + metric_name(key);
      out += "# TYPE " + name + (ends_with(name, "_total") ? " counter\n" : " gauge\n");
      out += name + " " + value + "\n";
    }
    if (!labels.empty()) {
      out += "# TYPE " + prefix + "info gauge\n" + prefix + "info{" + labels + "} 1\n";
    }
  }
  return out;
}

}  // namespace hearth::detail
