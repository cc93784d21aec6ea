// Reading TOML tables into typed settings, shared by the deployment and workload readers:
// unknown keys, wrong types and out-of-range values are errors naming file, line and column.
#pragma once

#include <toml++/toml.h>

#include <exception>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "config/toml_limits.h"
#include "hearth/error.h"
#include "hearth/settings.h"

namespace hearth::config {

inline std::string where(const std::string& path, const toml::source_region& r) {
  return path + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// Parses a whole file's text after the limits check; a syntax error names file, line and
// column.
inline toml::table parse_toml(std::string_view text, const std::string& path) {
  check_toml_limits(text, path);
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw Error(where(path, e.source()) + ": " + std::string(e.description()));
  }
}

// Reads one table's keys into typed targets and refuses anything it does not know.
class TableReader {
 public:
  TableReader(const std::string& path, const std::string& name, const toml::table& table)
      : path_(path), name_(name), table_(table) {}
  ~TableReader() noexcept(false) {
    if (std::uncaught_exceptions()) return;
    for (const auto& [key, node] : table_) {
      if (!known_.count(std::string(key.str()))) {
        throw Error(where(path_, key.source()) + ": unknown key '" + std::string(key.str()) +
                    "' in [" + name_ + "]");
      }
    }
  }

  const toml::node* get(const std::string& key) {
    known_.insert(key);
    return table_.get(key);
  }

  void string(const std::string& key, std::string& out) {
    if (auto* n = get(key)) out = typed<std::string>(key, *n, "a string");
  }
  void boolean(const std::string& key, bool& out) {
    if (auto* n = get(key)) out = typed<bool>(key, *n, "a boolean");
  }
  // A string that must be one of `choices`.
  void choice(const std::string& key, std::string& out, std::span<const std::string_view> choices) {
    if (auto* n = get(key)) {
      std::string v = typed<std::string>(key, *n, "a string");
      if (std::string why = settings::check(v, choices); !why.empty()) {
        fail(*n, "'" + key + "': " + why);
      }
      out = std::move(v);
    }
  }
  // A device name (settings::check_device).
  void device(const std::string& key, std::string& out) {
    if (auto* n = get(key)) {
      std::string v = typed<std::string>(key, *n, "a string");
      if (std::string why = settings::check_device(v); !why.empty())
        fail(*n, "'" + key + "': " + why);
      out = std::move(v);
    }
  }
  template <typename Int>
  void integer(const std::string& key, Int& out, settings::IntRange range) {
    if (auto* n = get(key)) {
      int64_t v = typed<int64_t>(key, *n, "an integer");
      if (std::string why = settings::check(v, range); !why.empty()) {
        fail(*n, "'" + key + "' = " + why);
      }
      out = static_cast<Int>(v);
    }
  }
  void number(const std::string& key, double& out, settings::RealRange range) {
    if (auto* n = get(key)) {
      double v = n->is_integer() ? static_cast<double>(*n->value<int64_t>())
                                 : typed<double>(key, *n, "a number");
      if (std::string why = settings::check_float(v, range); !why.empty()) {
        fail(*n, "'" + key + "' = " + why);
      }
      out = v;
    }
  }
  void number(const std::string& key, float& out, settings::RealRange range) {
    double v = out;
    number(key, v, range);
    out = static_cast<float>(v);
  }
  void strings(const std::string& key, std::vector<std::string>& out) {
    if (auto* n = get(key)) {
      auto* array = n->as_array();
      if (!array) fail(*n, "'" + key + "' must be an array of strings");
      out.clear();
      for (const auto& item : *array) out.push_back(typed<std::string>(key, item, "a string"));
    }
  }

  [[noreturn]] void fail(const toml::node& n, const std::string& what) {
    throw Error(where(path_, n.source()) + ": [" + name_ + "] " + what);
  }

 private:
  template <typename T>
  T typed(const std::string& key, const toml::node& n, const char* wanted) {
    auto v = n.value_exact<T>();
    if (!v) fail(n, "'" + key + "' must be " + wanted);
    return *v;
  }

  const std::string& path_;
  std::string name_;
  const toml::table& table_;
  std::set<std::string> known_;
};

inline const toml::table& section(const std::string& path, const toml::table& root,
                                  const char* name) {
  static const toml::table empty;
  auto* node = root.get(name);
  if (!node) return empty;
  if (!node->is_table()) {
    throw Error(where(path, node->source()) + ": '" + name + "' must be a table ([" + name + "])");
  }
  return *node->as_table();
}

inline std::string resolve(const std::string& config_path, const std::string& relative) {
  if (relative.empty()) return relative;
  std::filesystem::path p(relative);
  if (p.is_absolute()) return relative;
  return (std::filesystem::path(config_path).parent_path() / p).lexically_normal().string();
}

}  // namespace hearth::config
