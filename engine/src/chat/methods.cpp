#include "chat/methods.h"

#include <optional>

#include "chat/filters.h"
#include "chat/python_text.h"
#include "chat/render_limits.h"

namespace hearth::chat {
namespace {

using Method = Value (*)(const Value& self, const Arguments& args, RenderBudget& budget);

std::optional<std::string> optional_string(const Arguments& args, size_t position,
                                           std::string_view keyword) {
  static const Value kAbsent = Value::none();
  const Value v = argument(args, position, keyword, kAbsent);
  if (v.is_none()) return std::nullopt;
  if (!v.is_string()) throw Fault("expected a string argument, got '" + v.type_name() + "'");
  return v.as_string();
}

std::string required_string(const Arguments& args, size_t position, std::string_view keyword) {
  const std::optional<std::string> s = optional_string(args, position, keyword);
  if (!s) throw Fault("missing the string argument '" + std::string(keyword) + "'");
  return *s;
}

int64_t optional_int(const Arguments& args, size_t position, std::string_view keyword,
                     int64_t fallback) {
  static const Value kAbsent;
  const Value v = argument(args, position, keyword, kAbsent);
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!v.is_int()) throw Fault("expected an integer argument, got '" + v.type_name() + "'");
  return v.as_int();
}

Value charged(std::string text, RenderBudget& budget) {
  budget.charge_bytes(text.size());
  return Value(std::move(text));
}

Value strip_method(const Value& self, const Arguments& args, RenderBudget& budget, bool left,
                   bool right) {
  const std::optional<std::string> chars = optional_string(args, 0, "chars");
  return charged(
      python_strip(self.as_string(), left, right, chars ? *chars : "", chars.has_value()), budget);
}

Value string_list(std::vector<std::string> parts, RenderBudget& budget) {
  budget.check_list_size(parts.size());
  std::vector<Value> items;
  size_t bytes = 0;
  for (std::string& part : parts) {
    bytes += part.size() + sizeof(Value);
    items.emplace_back(std::move(part));
  }
  budget.charge_bytes(bytes);
  return Value::list(std::move(items));
}

// startswith/endswith take a string or a tuple of strings.
bool affix_matches(const Value& self, const Value& affix, bool prefix) {
  const std::string& s = self.as_string();
  const auto one = [&](const Value& v) {
    if (!v.is_string()) throw Fault("expected a string or a tuple of strings");
    const std::string& a = v.as_string();
    return a.size() <= s.size() && (prefix ? s.compare(0, a.size(), a) == 0
                                           : s.compare(s.size() - a.size(), a.size(), a) == 0);
  };
  if (affix.is_list()) {
    for (const Value& v : affix.as_list().items) {
      if (one(v)) return true;
    }
    return false;
  }
  return one(affix);
}

const std::pair<std::string_view, Method> kStringMethods[] = {
    {"strip", [](const Value& s, const Arguments& a,
                 RenderBudget& b) { return strip_method(s, a, b, true, true); }},
    {"lstrip", [](const Value& s, const Arguments& a,
                  RenderBudget& b) { return strip_method(s, a, b, true, false); }},
    {"rstrip", [](const Value& s, const Arguments& a,
                  RenderBudget& b) { return strip_method(s, a, b, false, true); }},
    {"split",
     [](const Value& s, const Arguments& a, RenderBudget& b) {
       const std::optional<std::string> separator = optional_string(a, 0, "sep");
       if (separator && separator->empty()) throw Fault("empty separator");
       return string_list(python_split(s.as_string(), separator ? &*separator : nullptr,
                                       optional_int(a, 1, "maxsplit", -1)),
                          b);
     }},
    {"startswith",
     [](const Value& s, const Arguments& a, RenderBudget&) {
       return Value(affix_matches(s, argument(a, 0, "prefix", Value()), true));
     }},
    {"endswith",
     [](const Value& s, const Arguments& a, RenderBudget&) {
       return Value(affix_matches(s, argument(a, 0, "suffix", Value()), false));
     }},
    {"upper", [](const Value& s, const Arguments&,
                 RenderBudget& b) { return charged(python_upper(s.as_string()), b); }},
    {"lower", [](const Value& s, const Arguments&,
                 RenderBudget& b) { return charged(python_lower(s.as_string()), b); }},
    {"title", [](const Value& s, const Arguments&,
                 RenderBudget& b) { return charged(python_title(s.as_string()), b); }},
    {"capitalize", [](const Value& s, const Arguments&,
                      RenderBudget& b) { return charged(python_capitalize(s.as_string()), b); }},
    {"replace",
     [](const Value& s, const Arguments& a, RenderBudget& b) {
       const std::string& from = required_string(a, 0, "old");
       const std::string& to = required_string(a, 1, "new");
       const int64_t count = optional_int(a, 2, "count", -1);
       // Bounded before it is built: each replacement adds at most |to| bytes.
       const size_t worst = s.as_string().size() + (s.as_string().size() + 1) * to.size();
       if (worst > kMaxOutputBytes) b.charge_bytes(worst);
       return charged(python_replace(s.as_string(), from, to, count), b);
     }},
    {"find",
     [](const Value& s, const Arguments& a, RenderBudget&) {
       const std::string& needle = required_string(a, 0, "sub");
       const size_t at = s.as_string().find(needle);
       if (at == std::string::npos) return Value(-1);
       return Value(
           static_cast<int64_t>(code_point_count(std::string_view(s.as_string()).substr(0, at))));
     }},
    {"count",
     [](const Value& s, const Arguments& a, RenderBudget&) {
       const std::string& needle = required_string(a, 0, "sub");
       if (needle.empty()) return Value(static_cast<int64_t>(code_point_count(s.as_string()) + 1));
       int64_t n = 0;
       for (size_t at = s.as_string().find(needle); at != std::string::npos;
            at = s.as_string().find(needle, at + needle.size())) {
         ++n;
       }
       return Value(n);
     }},
    {"join",
     [](const Value& s, const Arguments& a, RenderBudget& b) {
       std::string out;
       bool first = true;
       for (const Value& item : iterate(argument(a, 0, "iterable", Value()))) {
         if (!item.is_string())
           throw Fault("join() expects strings, got '" + item.type_name() + "'");
         if (!first) out += s.as_string();
         out += item.as_string();
         first = false;
         if (out.size() > kMaxOutputBytes) b.charge_bytes(out.size());
       }
       return charged(std::move(out), b);
     }},
};

Value dict_items(const Value& self, RenderBudget& budget, int which) {
  std::vector<Value> out;
  for (const auto& [key, value] : self.as_dict().entries) {
    if (which == 0) out.push_back(Value::list({Value(key), value}, true));
    if (which == 1) out.emplace_back(key);
    if (which == 2) out.push_back(value);
  }
  budget.charge_bytes(out.size() * sizeof(Value));
  return Value::list(std::move(out));
}

const std::pair<std::string_view, Method> kDictMethods[] = {
    {"get",
     [](const Value& d, const Arguments& a, RenderBudget&) {
       const Value key = argument(a, 0, "key", Value());
       if (key.is_string()) {
         if (const Value* v = d.as_dict().find(key.as_string())) return *v;
       }
       return argument(a, 1, "default", Value::none());
     }},
    {"items",
     [](const Value& d, const Arguments&, RenderBudget& b) { return dict_items(d, b, 0); }},
    {"keys", [](const Value& d, const Arguments&, RenderBudget& b) { return dict_items(d, b, 1); }},
    {"values",
     [](const Value& d, const Arguments&, RenderBudget& b) { return dict_items(d, b, 2); }},
};

template <size_t N>
Value::CallablePtr bind(const std::pair<std::string_view, Method> (&table)[N],
                        const Value& receiver, std::string_view name, const char* type) {
  for (const auto& [method_name, method] : table) {
    if (method_name != name) continue;
    auto callable = std::make_shared<Callable>();
    callable->name = std::string(type) + "." + std::string(name);
    callable->call = [receiver, method](const Arguments& args, RenderBudget& budget) {
      return method(receiver, args, budget);
    };
    return callable;
  }
  return nullptr;
}

}  // namespace

Value::CallablePtr find_method(const Value& receiver, std::string_view name) {
  if (receiver.is_string()) return bind(kStringMethods, receiver, name, "str");
  if (receiver.is_dict()) return bind(kDictMethods, receiver, name, "dict");
  return nullptr;
}

}  // namespace hearth::chat
