// The values a template computes with, and Python's rules for them: truth, equality,
// ordering, str() and repr(). Lists and dicts are immutable and shared (copying a value is
// cheap); a namespace() is the one mutable object, as in jinja2's sandbox.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hearth::chat {

class Value;
class RenderBudget;

// Containers record how deeply they nest and whether a namespace is inside, so the
// recursive operations on values (printing, comparing, freeing) have a bounded depth and a
// namespace can never come to hold itself.
struct List {
  std::vector<Value> items;
  bool tuple = false;  // printed as (a, b): what items() and tuple literals give
  int depth = 1;
  bool holds_namespace = false;
};

// Insertion-ordered, as Python dicts and JSON objects in messages are.
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  int depth = 1;
  bool holds_namespace = false;
  const Value* find(std::string_view key) const;
};

struct Namespace {
  Dict attributes;
};

struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A global function, a macro or a bound method.
struct Callable {
  std::string name;
  std::function<Value(const Arguments&, RenderBudget&)> call;
};

// jinja2's default Undefined: falsey, prints as nothing, iterates as empty; `hint` is the
// error jinja2 gives when it is used where that is not allowed ("'x' is undefined").
struct Undefined {
  std::string hint;
};

class Value {
 public:
  using ListPtr = std::shared_ptr<const List>;
  using DictPtr = std::shared_ptr<const Dict>;
  using NamespacePtr = std::shared_ptr<Namespace>;
  using CallablePtr = std::shared_ptr<const Callable>;

  Value() : data_(Undefined{}) {}
  static Value undefined(std::string hint) {
    Value v;
    v.data_ = Undefined{std::move(hint)};
    return v;
  }
  static Value none() {
    Value v;
    v.data_ = nullptr;
    return v;
  }
  Value(bool b) : data_(b) {}
  Value(int64_t i) : data_(i) {}
  Value(int i) : data_(int64_t{i}) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(ListPtr list) : data_(std::move(list)) {}
  Value(DictPtr dict) : data_(std::move(dict)) {}
  Value(NamespacePtr ns) : data_(std::move(ns)) {}
  Value(CallablePtr callable) : data_(std::move(callable)) {}
  // Throw Fault past kMaxValueDepth.
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value dict(Dict dict);

  bool is_undefined() const { return std::holds_alternative<Undefined>(data_); }
  bool is_none() const { return std::holds_alternative<std::nullptr_t>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_int() const { return std::holds_alternative<int64_t>(data_); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_list() const { return std::holds_alternative<ListPtr>(data_); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(data_); }
  bool is_namespace() const { return std::holds_alternative<NamespacePtr>(data_); }
  bool is_callable() const { return std::holds_alternative<CallablePtr>(data_); }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  // An int, bool or float as a double.
  double as_number() const;
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return *std::get<ListPtr>(data_); }
  const Dict& as_dict() const { return *std::get<DictPtr>(data_); }
  Namespace& as_namespace() const { return *std::get<NamespacePtr>(data_); }
  const Callable& as_callable() const { return *std::get<CallablePtr>(data_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }

  // Python's type name, for error messages ("str", "int", "dict").
  std::string type_name() const;
  int depth() const;             // 0 for a scalar
  bool holds_namespace() const;  // is or contains a namespace
  bool truthy() const;

 private:
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, ListPtr, DictPtr,
               NamespacePtr, CallablePtr>
      data_;
};

// Python ==, and <, which throws Fault for types Python cannot order.
bool values_equal(const Value& a, const Value& b);
bool value_less(const Value& a, const Value& b);
// str(value) as jinja2 prints it ("" for undefined, "None", "True", "[1, 'a']").
std::string to_display(const Value& value);
std::string to_repr(const Value& value);
// The elements a for loop visits: a list's items, a dict's keys, a string's characters;
// nothing for undefined. Throws Fault for anything else.
std::vector<Value> iterate(const Value& value);
// Throws Fault naming the undefined value's hint when `value` is undefined.
void require_defined(const Value& value);

}  // namespace hearth::chat
