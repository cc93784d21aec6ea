#include "chat/value_ops.h"

#include <cmath>
#include <limits>

#include "chat/methods.h"
#include "chat/python_text.h"

namespace hearth::chat {
namespace {

std::string describe_object(const Value& v) {
  if (v.is_none()) return "'None'";
  return "'" + v.type_name() + " object'";
}

Value missing_attribute(const Value& target, std::string_view name) {
  return Value::undefined(describe_object(target) + " has no attribute '" + std::string(name) +
                          "'");
}

int64_t as_integer(const Value& v) { return v.is_bool() ? int64_t{v.as_bool()} : v.as_int(); }

bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  throw Fault("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
              b.type_name() + "'");
}

// Integer arithmetic as Python's would be, within 64 bits.
using Overflowing = bool (*)(int64_t, int64_t, int64_t*);
int64_t checked(Overflowing operation, int64_t a, int64_t b) {
  int64_t result = 0;
  if (operation(a, b, &result)) throw Fault("integer overflow (beyond 64 bits)");
  return result;
}
bool add(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool subtract(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool multiply(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

// Python's start/stop/step normalisation for a sequence of `length`.
void slice_bounds(int64_t length, const Value& start, const Value& stop, int64_t step,
                  int64_t& first, int64_t& last) {
  const auto bound = [&](const Value& v, int64_t fallback) -> int64_t {
    if (v.is_none()) return fallback;
    if (!is_integral(v)) throw Fault("slice indices must be integers or None");
    int64_t i = as_integer(v);
    if (i < 0) {
      i += length;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= length) {
      i = step < 0 ? length - 1 : length;
    }
    return i;
  };
  first = bound(start, step < 0 ? length - 1 : 0);
  last = bound(stop, step < 0 ? -1 : length);
}

Value repeat(const Value& sequence, int64_t times, RenderBudget& budget) {
  if (times < 0) times = 0;
  if (sequence.is_string()) {
    const std::string& s = sequence.as_string();
    if (!s.empty() && static_cast<uint64_t>(times) > kMaxOutputBytes / s.size()) {
      throw Fault("a repeated string longer than " + std::to_string(kMaxOutputBytes >> 20) +
                  " MiB");
    }
    budget.charge_bytes(s.size() * times);
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = sequence.as_list().items;
  if (!items.empty() && static_cast<uint64_t>(times) > kMaxListItems / items.size()) {
    budget.check_list_size(kMaxListItems + 1);
  }
  budget.charge_bytes(items.size() * times * sizeof(Value));
  std::vector<Value> out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), sequence.as_list().tuple);
}

double power(double a, double b) {
  if (a == 0 && b < 0) throw Fault("0.0 cannot be raised to a negative power");
  return std::pow(a, b);
}

}  // namespace

Value get_attribute(const Value& target, std::string_view name) {
  require_defined(target);
  if (Value::CallablePtr method = find_method(target, name)) return Value(std::move(method));
  if (target.is_dict()) {
    if (const Value* v = target.as_dict().find(name)) return *v;
  } else if (target.is_namespace()) {
    if (const Value* v = target.as_namespace().attributes.find(name)) return *v;
  }
  return missing_attribute(target, name);
}

Value get_item(const Value& target, const Value& key) {
  require_defined(target);
  if (target.is_dict() || target.is_namespace()) {
    if (key.is_string()) {
      const Dict& dict = target.is_dict() ? target.as_dict() : target.as_namespace().attributes;
      if (const Value* v = dict.find(key.as_string())) return *v;
      return get_attribute(target, key.as_string());
    }
    return Value::undefined(describe_object(target) + " has no element " + to_repr(key));
  }
  if ((target.is_list() || target.is_string()) && is_integral(key)) {
    int64_t index = as_integer(key);
    if (target.is_list()) {
      const auto& items = target.as_list().items;
      const int64_t n = static_cast<int64_t>(items.size());
      if (index < 0) index += n;
      if (index >= 0 && index < n) return items[index];
    } else {
      const std::string& s = target.as_string();
      const std::vector<size_t> offsets = code_point_offsets(s);
      const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
      if (index < 0) index += n;
      if (index >= 0 && index < n)
        return Value(s.substr(offsets[index], offsets[index + 1] - offsets[index]));
    }
    return Value::undefined(describe_object(target) + " has no element " +
                            std::to_string(as_integer(key)));
  }
  if (key.is_string()) return get_attribute(target, key.as_string());
  return Value::undefined(describe_object(target) + " has no element " + to_repr(key));
}

Value slice_value(const Value& target, const Value& start, const Value& stop,
                  const Value& step_value, RenderBudget& budget) {
  require_defined(target);
  int64_t step = 1;
  if (!step_value.is_none()) {
    if (!is_integral(step_value)) throw Fault("slice indices must be integers or None");
    step = as_integer(step_value);
    if (step == 0) throw Fault("slice step cannot be zero");
  }
  if (!target.is_list() && !target.is_string()) {
    throw Fault("'" + target.type_name() + "' object is not subscriptable");
  }
  std::vector<size_t> offsets;
  int64_t length = 0;
  if (target.is_string()) {
    offsets = code_point_offsets(target.as_string());
    length = static_cast<int64_t>(offsets.size()) - 1;
  } else {
    length = static_cast<int64_t>(target.as_list().items.size());
  }
  int64_t first = 0, last = 0;
  slice_bounds(length, start, stop, step, first, last);
  std::vector<int64_t> picked;
  for (int64_t i = first; step > 0 ? i < last : i > last; i += step) picked.push_back(i);
  if (target.is_string()) {
    const std::string& s = target.as_string();
    std::string out;
    for (int64_t i : picked) out += s.substr(offsets[i], offsets[i + 1] - offsets[i]);
    budget.charge_bytes(out.size());
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : picked) out.push_back(target.as_list().items[i]);
  budget.charge_bytes(out.size() * sizeof(Value));
  return Value::list(std::move(out), target.as_list().tuple);
}

Value negate(const Value& v) {
  require_defined(v);
  if (v.is_float()) return Value(-v.as_float());
  if (is_integral(v)) {
    const int64_t i = as_integer(v);
    if (i == std::numeric_limits<int64_t>::min()) throw Fault("integer overflow (beyond 64 bits)");
    return Value(-i);
  }
  throw Fault("bad operand type for unary -: '" + v.type_name() + "'");
}

Value binary_operation(const std::string& op, const Value& a, const Value& b,
                       RenderBudget& budget) {
  if (op == "~") {
    std::string out = to_display(a) + to_display(b);
    budget.charge_bytes(out.size());
    return Value(std::move(out));
  }
  require_defined(a);
  require_defined(b);
  const bool numbers = a.is_number() && b.is_number();
  const bool integers = is_integral(a) && is_integral(b);
  if (op == "+") {
    if (integers) return Value(checked(add, as_integer(a), as_integer(b)));
    if (numbers) return Value(a.as_number() + b.as_number());
    if (a.is_string() && b.is_string()) {
      budget.charge_bytes(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      budget.check_list_size(items.size());
      budget.charge_bytes(items.size() * sizeof(Value));
      return Value::list(std::move(items), a.as_list().tuple);
    }
    unsupported(op, a, b);
  }
  if (op == "-") {
    if (integers) return Value(checked(subtract, as_integer(a), as_integer(b)));
    if (numbers) return Value(a.as_number() - b.as_number());
    unsupported(op, a, b);
  }
  if (op == "*") {
    if (integers) return Value(checked(multiply, as_integer(a), as_integer(b)));
    if (numbers) return Value(a.as_number() * b.as_number());
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(a, as_integer(b), budget);
    if ((b.is_string() || b.is_list()) && is_integral(a)) return repeat(b, as_integer(a), budget);
    unsupported(op, a, b);
  }
  if (op == "/") {
    if (!numbers) unsupported(op, a, b);
    if (b.as_number() == 0) throw Fault("division by zero");
    return Value(a.as_number() / b.as_number());
  }
  if (op == "//" || op == "%") {
    if (!numbers) {
      if (op == "%" && a.is_string())
        throw Fault("printf-style '%' formatting of strings is not supported");
      unsupported(op, a, b);
    }
    if (b.as_number() == 0) throw Fault(op == "%" ? "modulo by zero" : "division by zero");
    if (integers) {
      const int64_t x = as_integer(a), y = as_integer(b);
      if (x == std::numeric_limits<int64_t>::min() && y == -1)
        throw Fault("integer overflow (beyond 64 bits)");
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        --q;
        r += y;
      }
      return Value(op == "//" ? q : r);
    }
    const double x = a.as_number(), y = b.as_number();
    const double q = std::floor(x / y);
    if (op == "//") return Value(q);
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  if (op == "**") {
    if (!numbers) unsupported(op, a, b);
    if (integers && as_integer(b) >= 0) {
      int64_t base = as_integer(a), exponent = as_integer(b), value = 1;
      while (exponent > 0) {
        if (exponent & 1) value = checked(multiply, value, base);
        exponent >>= 1;
        if (exponent > 0) base = checked(multiply, base, base);
      }
      return Value(value);
    }
    return Value(power(a.as_number(), b.as_number()));
  }
  throw Fault("unknown operator '" + op + "'");
}

bool contains(const Value& haystack, const Value& needle) {
  if (haystack.is_undefined()) return false;
  if (haystack.is_string()) {
    if (!needle.is_string()) {
      throw Fault("'in <string>' requires string as left operand, not " + needle.type_name());
    }
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_list()) {
    for (const Value& item : haystack.as_list().items) {
      if (values_equal(item, needle)) return true;
    }
    return false;
  }
  if (haystack.is_dict()) return needle.is_string() && haystack.as_dict().find(needle.as_string());
  throw Fault("argument of type '" + haystack.type_name() + "' is not iterable");
}

bool compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return values_equal(a, b);
  if (op == "!=") return !values_equal(a, b);
  if (op == "<") return value_less(a, b);
  if (op == ">") return value_less(b, a);
  if (op == "<=") return value_less(a, b) || values_equal(a, b);
  if (op == ">=") return value_less(b, a) || values_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  throw Fault("unknown comparison '" + op + "'");
}

}  // namespace hearth::chat
