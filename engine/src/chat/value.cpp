#include "chat/value.h"

#include <algorithm>

#include "chat/python_text.h"
#include "chat/render_limits.h"

namespace hearth::chat {

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

void check_depth(int depth) {
  if (depth > kMaxValueDepth) {
    throw Fault("values nested more than " + std::to_string(kMaxValueDepth) + " deep");
  }
}

}  // namespace

Value Value::list(std::vector<Value> items, bool tuple) {
  List list{std::move(items), tuple};
  for (const Value& item : list.items) {
    list.depth = std::max(list.depth, item.depth() + 1);
    list.holds_namespace = list.holds_namespace || item.holds_namespace();
  }
  check_depth(list.depth);
  return Value(std::make_shared<const List>(std::move(list)));
}

Value Value::dict(Dict dict) {
  for (const auto& entry : dict.entries) {
    dict.depth = std::max(dict.depth, entry.second.depth() + 1);
    dict.holds_namespace = dict.holds_namespace || entry.second.holds_namespace();
  }
  check_depth(dict.depth);
  return Value(std::make_shared<const Dict>(std::move(dict)));
}

int Value::depth() const {
  if (is_list()) return as_list().depth;
  if (is_dict()) return as_dict().depth;
  if (is_namespace()) {
    int depth = 1;
    for (const auto& entry : as_namespace().attributes.entries) {
      depth = std::max(depth, entry.second.depth() + 1);
    }
    return depth;
  }
  return 0;
}

bool Value::holds_namespace() const {
  if (is_list()) return as_list().holds_namespace;
  if (is_dict()) return as_dict().holds_namespace;
  return is_namespace();
}

double Value::as_number() const {
  if (is_int()) return static_cast<double>(as_int());
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  return as_float();
}

std::string Value::type_name() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "NoneType";
  if (is_bool()) return "bool";
  if (is_int()) return "int";
  if (is_float()) return "float";
  if (is_string()) return "str";
  if (is_list()) return as_list().tuple ? "tuple" : "list";
  if (is_dict()) return "dict";
  if (is_namespace()) return "Namespace";
  return "function";
}

bool Value::truthy() const {
  if (is_undefined() || is_none()) return false;
  if (is_bool()) return as_bool();
  if (is_int()) return as_int() != 0;
  if (is_float()) return as_float() != 0.0;
  if (is_string()) return !as_string().empty();
  if (is_list()) return !as_list().items.empty();
  if (is_dict()) return !as_dict().entries.empty();
  return true;
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() == b.as_number();
    const int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
    const int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
    return x == y;
  }
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_none() || b.is_none()) return a.is_none() && b.is_none();
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    if (x.size() != y.size() || a.as_list().tuple != b.as_list().tuple) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!values_equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_dict() && b.is_dict()) {
    const auto& x = a.as_dict().entries;
    if (x.size() != b.as_dict().entries.size()) return false;
    for (const auto& [key, value] : x) {
      const Value* other = b.as_dict().find(key);
      if (!other || !values_equal(value, *other)) return false;
    }
    return true;
  }
  if (a.is_namespace() && b.is_namespace()) return &a.as_namespace() == &b.as_namespace();
  return false;
}

bool value_less(const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() < b.as_number();
    const int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
    const int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
    return x < y;
  }
  // UTF-8 byte order is code point order, which is how Python compares strings.
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!values_equal(x[i], y[i])) return value_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw Fault("'<' not supported between instances of '" + a.type_name() + "' and '" +
              b.type_name() + "'");
}

namespace {

std::string join_items(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + to_repr(items[i]);
  return out;
}

std::string dict_repr(const Dict& dict) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : dict.entries) {
    out += (first ? "" : ", ") + python_string_repr(key) + ": " + to_repr(value);
    first = false;
  }
  return out + "}";
}

}  // namespace

std::string to_display(const Value& value) {
  if (value.is_undefined()) return "";
  if (value.is_string()) return value.as_string();
  return to_repr(value);
}

std::string to_repr(const Value& value) {
  if (value.is_undefined()) return "";
  if (value.is_none()) return "None";
  if (value.is_bool()) return value.as_bool() ? "True" : "False";
  if (value.is_int()) return std::to_string(value.as_int());
  if (value.is_float()) return python_float_repr(value.as_float());
  if (value.is_string()) return python_string_repr(value.as_string());
  if (value.is_list()) {
    const List& list = value.as_list();
    if (list.tuple) {
      return "(" + join_items(list.items) + (list.items.size() == 1 ? ",)" : ")");
    }
    return "[" + join_items(list.items) + "]";
  }
  if (value.is_dict()) return dict_repr(value.as_dict());
  if (value.is_namespace()) return "<Namespace " + dict_repr(value.as_namespace().attributes) + ">";
  return "<function " + value.as_callable().name + ">";
}

std::vector<Value> iterate(const Value& value) {
  if (value.is_undefined()) return {};
  if (value.is_list()) return value.as_list().items;
  if (value.is_dict()) {
    std::vector<Value> keys;
    for (const auto& entry : value.as_dict().entries) keys.emplace_back(entry.first);
    return keys;
  }
  if (value.is_string()) {
    const std::string& s = value.as_string();
    const std::vector<size_t> offsets = code_point_offsets(s);
    std::vector<Value> chars;
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      chars.emplace_back(s.substr(offsets[i], offsets[i + 1] - offsets[i]));
    }
    return chars;
  }
  throw Fault("'" + value.type_name() + "' object is not iterable");
}

void require_defined(const Value& value) {
  if (value.is_undefined()) {
    throw Fault(value.undefined_hint().empty() ? "a value is undefined" : value.undefined_hint());
  }
}

}  // namespace hearth::chat
