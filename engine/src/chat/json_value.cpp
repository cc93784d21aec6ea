#include "chat/json_value.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "chat/python_text.h"
#include "chat/render_limits.h"

namespace hearth::chat {
namespace {

template <typename Json>
Value convert(const Json& json, int depth) {
  if (depth > kMaxValueDepth) {
    throw Fault("JSON input nested more than " + std::to_string(kMaxValueDepth) + " deep");
  }
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value(json.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(json.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = json.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(json.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(json.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(convert(item, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict dict;
      for (auto it = json.begin(); it != json.end(); ++it) {
        dict.entries.emplace_back(it.key(), convert(it.value(), depth + 1));
      }
      return Value::dict(std::move(dict));
    }
    case nlohmann::json::value_t::binary:
      break;
  }
  throw Fault("JSON binary values are not supported");
}

void append_json_string(std::string& out, std::string_view text, bool ensure_ascii) {
  out += '"';
  char buffer[16];
  for (size_t at = 0; at < text.size();) {
    const uint32_t cp = decode_code_point(text, at);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7f)) {
      if (cp >= 0x10000) {
        const uint32_t v = cp - 0x10000;
        std::snprintf(buffer, sizeof buffer, "\\u%04x\\u%04x", 0xd800 + (v >> 10),
                      0xdc00 + (v & 0x3ff));
      } else {
        std::snprintf(buffer, sizeof buffer, "\\u%04x", cp);
      }
      out += buffer;
    } else {
      append_utf8(out, cp);
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  JsonWriter(const JsonStyle& style, RenderBudget& budget) : style_(style), budget_(budget) {}

  void write(const Value& value, int level) {
    budget_.step();
    if (value.is_none()) {
      out_ += "null";
    } else if (value.is_bool()) {
      out_ += value.as_bool() ? "true" : "false";
    } else if (value.is_int()) {
      out_ += std::to_string(value.as_int());
    } else if (value.is_float()) {
      const double d = value.as_float();
      out_ += d != d            ? "NaN"
              : d == 1.0 / 0.0  ? "Infinity"
              : d == -1.0 / 0.0 ? "-Infinity"
                                : python_float_repr(d);
    } else if (value.is_string()) {
      append_json_string(out_, value.as_string(), style_.ensure_ascii);
    } else if (value.is_list()) {
      const auto& items = value.as_list().items;
      if (items.empty()) {
        out_ += "[]";
        return;
      }
      out_ += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out_ += separator();
        newline(level + 1);
        write(items[i], level + 1);
      }
      newline(level);
      out_ += ']';
    } else if (value.is_dict()) {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.as_dict().entries) entries.push_back(&entry);
      if (entries.empty()) {
        out_ += "{}";
        return;
      }
      if (style_.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      }
      out_ += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out_ += separator();
        newline(level + 1);
        append_json_string(out_, entries[i]->first, style_.ensure_ascii);
        out_ += style_.key_separator;
        write(entries[i]->second, level + 1);
      }
      newline(level);
      out_ += '}';
    } else {
      throw Fault("Object of type " + value.type_name() + " is not JSON serializable");
    }
    if (out_.size() > kMaxOutputBytes) {
      throw Fault("tojson output exceeds " + std::to_string(kMaxOutputBytes >> 20) + " MiB");
    }
  }

  std::string take() { return std::move(out_); }

 private:
  // json.dumps drops the space after the comma when it indents.
  const std::string& separator() const { return style_.item_separator; }
  void newline(int level) {
    if (!style_.indented) return;
    out_ += '\n';
    for (int i = 0; i < level; ++i) out_ += style_.indent;
  }

  const JsonStyle& style_;
  RenderBudget& budget_;
  std::string out_;
};

}  // namespace

Value from_json(const nlohmann::json& json) { return convert(json, 0); }
Value from_json(const nlohmann::ordered_json& json) { return convert(json, 0); }

std::string to_json(const Value& value, const JsonStyle& style, RenderBudget& budget) {
  JsonWriter writer(style, budget);
  writer.write(value, 0);
  std::string out = writer.take();
  budget.charge_bytes(out.size());
  return out;
}

}  // namespace hearth::chat
