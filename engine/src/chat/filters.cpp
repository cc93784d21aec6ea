#include "chat/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "chat/json_value.h"
#include "chat/methods.h"
#include "chat/python_text.h"
#include "chat/value_ops.h"

namespace hearth::chat {
namespace {

using Filter = Value (*)(const Value& input, const Arguments& args, RenderBudget& budget);
using Test = bool (*)(const Value& input, const Arguments& args, RenderBudget& budget);

Value charged(std::string text, RenderBudget& budget) {
  budget.charge_bytes(text.size());
  return Value(std::move(text));
}

Value charged_list(std::vector<Value> items, RenderBudget& budget, bool tuple = false) {
  budget.check_list_size(items.size());
  budget.charge_bytes(items.size() * sizeof(Value));
  return Value::list(std::move(items), tuple);
}

const Value kNone = Value::none();
const Value kAbsent;

bool flag(const Arguments& args, size_t position, std::string_view keyword, bool fallback) {
  const Value v = argument(args, position, keyword, Value(fallback));
  return v.truthy();
}

std::string text_of(const Value& input) { return to_display(input); }

// An attribute path such as "function.name" or "0.role", as jinja2's attribute= arguments take.
Value lookup_path(const Value& item, const Value& path) {
  if (path.is_int()) return get_item(item, path);
  if (!path.is_string()) throw Fault("an attribute name must be a string");
  Value current = item;
  std::string_view rest = path.as_string();
  while (true) {
    const size_t dot = rest.find('.');
    const std::string part(rest.substr(0, dot));
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    current = digits ? get_item(current, Value(static_cast<int64_t>(std::atoll(part.c_str()))))
                     : get_item(current, Value(part));
    if (dot == std::string_view::npos) return current;
    if (current.is_undefined()) return current;
    rest = rest.substr(dot + 1);
  }
}

// Sort keys fold case unless asked not to, as jinja2's sort, unique, min and max do.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(python_lower(v.as_string()));
  return v;
}

std::vector<Value> keyed_items(const Value& input, const Value& attribute) {
  std::vector<Value> items = iterate(input);
  if (!attribute.is_undefined() && !attribute.is_none()) {
    for (Value& item : items) item = lookup_path(item, attribute);
  }
  return items;
}

// select/reject (by a test on each item) and selectattr/rejectattr (on an attribute of each).
Value select_items(const Value& input, const Arguments& args, RenderBudget& budget,
                   bool by_attribute, bool keep_matches) {
  std::vector<Value> kept;
  size_t next = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw Fault("selectattr/rejectattr need an attribute name");
    attribute = args.positional[next++];
  }
  std::string test_name;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) throw Fault("the test name must be a string");
    test_name = args.positional[next++].as_string();
    if (!is_known_test(test_name)) throw Fault("no test named '" + test_name + "'");
  }
  Arguments test_args;
  test_args.positional.assign(args.positional.begin() + next, args.positional.end());
  for (const Value& item : iterate(input)) {
    budget.step();
    const Value subject = by_attribute ? lookup_path(item, attribute) : item;
    const bool matches =
        test_name.empty() ? subject.truthy() : apply_test(test_name, subject, test_args, budget);
    if (matches == keep_matches) kept.push_back(item);
  }
  return charged_list(std::move(kept), budget);
}

Value map_items(const Value& input, const Arguments& args, RenderBudget& budget) {
  std::vector<Value> out;
  const Value attribute = argument(args, 99, "attribute", kAbsent);
  if (!attribute.is_undefined()) {
    const Value fallback = argument(args, 99, "default", kAbsent);
    for (const Value& item : iterate(input)) {
      budget.step();
      Value v = lookup_path(item, attribute);
      out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : v);
    }
    return charged_list(std::move(out), budget);
  }
  if (args.positional.empty() || !args.positional[0].is_string())
    throw Fault("map() needs a filter name or attribute=");
  const std::string& filter = args.positional[0].as_string();
  if (!is_known_filter(filter)) throw Fault("no filter named '" + filter + "'");
  Arguments filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keyword = args.keyword;
  for (const Value& item : iterate(input)) {
    budget.step();
    out.push_back(apply_filter(filter, item, filter_args, budget));
  }
  return charged_list(std::move(out), budget);
}

Value to_int(const Value& input, const Arguments& args) {
  const Value fallback = argument(args, 0, "default", Value(0));
  if (input.is_int()) return input;
  if (input.is_bool()) return Value(int64_t{input.as_bool()});
  if (input.is_float()) {
    const double d = input.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value(static_cast<int64_t>(d));
  }
  if (!input.is_string()) return fallback;
  std::string text;
  for (char c : python_strip(input.as_string(), true, true)) {
    if (c != '_') text += c;
  }
  if (text.empty()) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end == '\0' && errno == 0) return Value(static_cast<int64_t>(v));
  const double d = std::strtod(text.c_str(), &end);
  if (*end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18)
    return Value(static_cast<int64_t>(d));
  return fallback;
}

Value to_float(const Value& input, const Arguments& args) {
  const Value fallback = argument(args, 0, "default", Value(0.0));
  if (input.is_number()) return Value(input.as_number());
  if (!input.is_string()) return fallback;
  const std::string text = python_strip(input.as_string(), true, true);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  return *end == '\0' ? Value(d) : fallback;
}

Value round_number(const Value& input, const Arguments& args) {
  if (!input.is_number()) throw Fault("round needs a number, not '" + input.type_name() + "'");
  const Value precision_value = argument(args, 0, "precision", Value(0));
  if (!precision_value.is_int()) throw Fault("round precision must be an integer");
  const int64_t precision = std::clamp<int64_t>(precision_value.as_int(), -300, 300);
  const Value method_value = argument(args, 1, "method", Value("common"));
  const std::string method = method_value.is_string() ? method_value.as_string() : "";
  if (method != "common" && method != "ceil" && method != "floor") {
    throw Fault("round method must be common, ceil or floor");
  }
  if (method == "common" && !input.is_float()) return Value(int64_t(input.as_number()));
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = input.as_number() * scale;
  double r = method == "ceil"    ? std::ceil(x)
             : method == "floor" ? std::floor(x)
                                 : std::nearbyint(x);
  return Value(r / scale);
}

Value length_of(const Value& input) {
  if (input.is_undefined()) return Value(0);
  if (input.is_string()) return Value(static_cast<int64_t>(code_point_count(input.as_string())));
  if (input.is_list()) return Value(static_cast<int64_t>(input.as_list().items.size()));
  if (input.is_dict()) return Value(static_cast<int64_t>(input.as_dict().entries.size()));
  throw Fault("object of type '" + input.type_name() + "' has no len()");
}

Value tojson(const Value& input, const Arguments& args, RenderBudget& budget) {
  JsonStyle style;
  style.ensure_ascii = flag(args, 0, "ensure_ascii", false);
  const Value indent = argument(args, 1, "indent", kNone);
  if (indent.is_int()) {
    style.indented = true;
    style.indent =
        std::string(static_cast<size_t>(std::clamp<int64_t>(indent.as_int(), 0, 64)), ' ');
  } else if (indent.is_string()) {
    style.indented = true;
    style.indent = indent.as_string().substr(0, 64);
  } else if (!indent.is_none() && !indent.is_undefined()) {
    throw Fault("tojson indent must be an integer or a string");
  }
  if (style.indented) style.item_separator = ",";
  const Value separators = argument(args, 2, "separators", kNone);
  if (separators.is_list()) {
    const auto& parts = separators.as_list().items;
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string()) {
      throw Fault("tojson separators must be two strings");
    }
    style.item_separator = parts[0].as_string();
    style.key_separator = parts[1].as_string();
  }
  style.sort_keys = flag(args, 3, "sort_keys", false);
  return Value(to_json(input, style, budget));
}

Value indent_text(const Value& input, const Arguments& args, RenderBudget& budget) {
  const Value width = argument(args, 0, "width", Value(4));
  std::string indentation;
  if (width.is_string()) {
    indentation = width.as_string();
  } else if (width.is_int()) {
    indentation.assign(static_cast<size_t>(std::clamp<int64_t>(width.as_int(), 0, 256)), ' ');
  } else {
    throw Fault("indent width must be an integer or a string");
  }
  const bool first = flag(args, 1, "first", false);
  const bool blank = flag(args, 2, "blank", false);
  // jinja2 appends a newline and splits into lines, so a trailing newline survives.
  const std::string text = text_of(input) + "\n";
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::string out = first ? indentation : "";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += '\n';
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
    if (out.size() > kMaxOutputBytes) budget.charge_bytes(out.size());
  }
  return charged(std::move(out), budget);
}

Value html_escape(const Value& input, RenderBudget& budget) {
  std::string out;
  for (char c : text_of(input)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return charged(std::move(out), budget);
}

Value extreme(const Value& input, const Arguments& args, bool want_max) {
  const bool case_sensitive = flag(args, 0, "case_sensitive", false);
  const Value attribute = argument(args, 1, "attribute", kNone);
  const std::vector<Value> items = iterate(input);
  const std::vector<Value> keys = keyed_items(input, attribute);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const Value a = sort_key(keys[i], case_sensitive), b = sort_key(keys[best], case_sensitive);
    if (want_max ? value_less(b, a) : value_less(a, b)) best = i;
  }
  return items[best];
}

const std::pair<std::string_view, Filter> kFilters[] = {
    {"abs",
     [](const Value& v, const Arguments&, RenderBudget&) {
       if (v.is_float()) return Value(std::fabs(v.as_float()));
       if (!v.is_number()) throw Fault("bad operand type for abs(): '" + v.type_name() + "'");
       const Value n = v.is_bool() ? Value(int64_t{v.as_bool()}) : v;
       return n.as_int() < 0 ? negate(n) : n;
     }},
    // attr() is Python's getattr alone: a dict's keys are not its attributes.
    {"attr",
     [](const Value& v, const Arguments& a, RenderBudget&) {
       const std::string name = to_display(argument(a, 0, "name", kAbsent));
       if (v.is_dict()) {
         if (Value::CallablePtr method = find_method(v, name)) return Value(std::move(method));
         return Value::undefined("'dict object' has no attribute '" + name + "'");
       }
       return get_attribute(v, name);
     }},
    {"capitalize", [](const Value& v, const Arguments&, RenderBudget& b) { return charged(python_capitalize(text_of(v)), b); }},
    {"count", [](const Value& v, const Arguments&, RenderBudget&) { return length_of(v); }},
    {"d",
     [](const Value& v, const Arguments& a, RenderBudget&) {
       const bool boolean = flag(a, 1, "boolean", false);
       if (v.is_undefined() || (boolean && !v.truthy())) return argument(a, 0, "default_value", Value(""));
       return v;
     }},
    {"default",
     [](const Value& v, const Arguments& a, RenderBudget&) {
       const bool boolean = flag(a, 1, "boolean", false);
       if (v.is_undefined() || (boolean && !v.truthy())) return argument(a, 0, "default_value", Value(""));
       return v;
     }},
    {"dictsort",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       if (!v.is_dict()) throw Fault("dictsort needs a dict");
       const bool case_sensitive = flag(a, 0, "case_sensitive", false);
       const Value by = argument(a, 1, "by", Value("key"));
       const bool by_value = by.is_string() && by.as_string() == "value";
       const bool reverse = flag(a, 2, "reverse", false);
       std::vector<Value> pairs;
       for (const auto& [key, value] : v.as_dict().entries) pairs.push_back(Value::list({Value(key), value}, true));
       std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
         const Value kx = sort_key(x.as_list().items[by_value ? 1 : 0], case_sensitive);
         const Value ky = sort_key(y.as_list().items[by_value ? 1 : 0], case_sensitive);
         return reverse ? value_less(ky, kx) : value_less(kx, ky);
       });
       return charged_list(std::move(pairs), b);
     }},
    {"e", [](const Value& v, const Arguments&, RenderBudget& b) { return html_escape(v, b); }},
    {"escape", [](const Value& v, const Arguments&, RenderBudget& b) { return html_escape(v, b); }},
    {"first",
     [](const Value& v, const Arguments&, RenderBudget&) {
       std::vector<Value> items = iterate(v);
       return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
     }},
    {"float", [](const Value& v, const Arguments& a, RenderBudget&) { return to_float(v, a); }},
    {"indent", indent_text},
    {"int", [](const Value& v, const Arguments& a, RenderBudget&) { return to_int(v, a); }},
    {"items",
     [](const Value& v, const Arguments&, RenderBudget& b) {
       if (v.is_undefined()) return Value::list({});
       if (!v.is_dict()) throw Fault("Can only get item pairs from a mapping.");
       std::vector<Value> pairs;
       for (const auto& [key, value] : v.as_dict().entries) pairs.push_back(Value::list({Value(key), value}, true));
       return charged_list(std::move(pairs), b);
     }},
    {"join",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       const std::string separator = to_display(argument(a, 0, "d", Value("")));
       const Value attribute = argument(a, 1, "attribute", kNone);
       std::string out;
       bool first = true;
       for (const Value& item : keyed_items(v, attribute)) {
         if (!first) out += separator;
         out += to_display(item);
         first = false;
         if (out.size() > kMaxOutputBytes) b.charge_bytes(out.size());
       }
       return charged(std::move(out), b);
     }},
    {"last",
     [](const Value& v, const Arguments&, RenderBudget&) {
       std::vector<Value> items = iterate(v);
       return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
     }},
    {"length", [](const Value& v, const Arguments&, RenderBudget&) { return length_of(v); }},
    {"list", [](const Value& v, const Arguments&, RenderBudget& b) { return charged_list(iterate(v), b); }},
    {"lower", [](const Value& v, const Arguments&, RenderBudget& b) { return charged(python_lower(text_of(v)), b); }},
    {"map", map_items},
    {"max", [](const Value& v, const Arguments& a, RenderBudget&) { return extreme(v, a, true); }},
    {"min", [](const Value& v, const Arguments& a, RenderBudget&) { return extreme(v, a, false); }},
    {"reject", [](const Value& v, const Arguments& a, RenderBudget& b) { return select_items(v, a, b, false, false); }},
    {"rejectattr", [](const Value& v, const Arguments& a, RenderBudget& b) { return select_items(v, a, b, true, false); }},
    {"replace",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       const std::string text = text_of(v);
       const std::string from = to_display(argument(a, 0, "old", kAbsent));
       const std::string to = to_display(argument(a, 1, "new", kAbsent));
       const Value count = argument(a, 2, "count", kNone);
       const size_t worst = text.size() + (text.size() + 1) * to.size();
       if (worst > kMaxOutputBytes) b.charge_bytes(worst);
       return charged(python_replace(text, from, to, count.is_int() ? count.as_int() : -1), b);
     }},
    {"reverse",
     [](const Value& v, const Arguments&, RenderBudget& b) {
       if (v.is_string()) {
         const std::vector<size_t> offsets = code_point_offsets(v.as_string());
         std::string out;
         for (size_t i = offsets.size() - 1; i > 0; --i) out += v.as_string().substr(offsets[i - 1], offsets[i] - offsets[i - 1]);
         return charged(std::move(out), b);
       }
       std::vector<Value> items = iterate(v);
       std::reverse(items.begin(), items.end());
       return charged_list(std::move(items), b);
     }},
    {"round", [](const Value& v, const Arguments& a, RenderBudget&) { return round_number(v, a); }},
    {"safe", [](const Value& v, const Arguments&, RenderBudget&) { return v; }},
    {"select", [](const Value& v, const Arguments& a, RenderBudget& b) { return select_items(v, a, b, false, true); }},
    {"selectattr", [](const Value& v, const Arguments& a, RenderBudget& b) { return select_items(v, a, b, true, true); }},
    {"sort",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       const bool reverse = flag(a, 0, "reverse", false);
       const bool case_sensitive = flag(a, 1, "case_sensitive", false);
       const Value attribute = argument(a, 2, "attribute", kNone);
       std::vector<Value> items = iterate(v);
       std::vector<Value> keys = keyed_items(v, attribute);
       std::vector<size_t> order(items.size());
       for (size_t i = 0; i < order.size(); ++i) order[i] = i;
       std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
         const Value kx = sort_key(keys[x], case_sensitive), ky = sort_key(keys[y], case_sensitive);
         return reverse ? value_less(ky, kx) : value_less(kx, ky);
       });
       std::vector<Value> sorted;
       for (size_t i : order) sorted.push_back(items[i]);
       return charged_list(std::move(sorted), b);
     }},
    {"string", [](const Value& v, const Arguments&, RenderBudget& b) { return charged(text_of(v), b); }},
    {"sum",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       Value total = argument(a, 1, "start", Value(0));
       for (const Value& item : keyed_items(v, argument(a, 0, "attribute", kNone))) total = binary_operation("+", total, item, b);
       return total;
     }},
    {"title", [](const Value& v, const Arguments&, RenderBudget& b) { return charged(jinja_title(text_of(v)), b); }},
    {"tojson", tojson},
    {"trim",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       const Value chars = argument(a, 0, "chars", kNone);
       const bool given = chars.is_string();
       return charged(python_strip(text_of(v), true, true, given ? chars.as_string() : "", given), b);
     }},
    {"unique",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       const bool case_sensitive = flag(a, 0, "case_sensitive", false);
       const std::vector<Value> items = iterate(v);
       const std::vector<Value> keys = keyed_items(v, argument(a, 1, "attribute", kNone));
       std::vector<Value> seen, out;
       for (size_t i = 0; i < items.size(); ++i) {
         b.step();
         const Value key = sort_key(keys[i], case_sensitive);
         if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, key); })) {
           seen.push_back(key);
           out.push_back(items[i]);
         }
       }
       return charged_list(std::move(out), b);
     }},
    {"upper", [](const Value& v, const Arguments&, RenderBudget& b) { return charged(python_upper(text_of(v)), b); }},
    {"wordcount",
     [](const Value& v, const Arguments&, RenderBudget&) {
       return Value(static_cast<int64_t>(python_split(text_of(v), nullptr, -1).size()));
     }},
};

bool is_integer_value(const Value& v) { return v.is_int(); }

const Value& test_argument(const Arguments& args) {
  if (args.positional.empty()) throw Fault("this test needs an argument");
  return args.positional[0];
}

const std::pair<std::string_view, Test> kTests[] = {
    {"boolean", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_bool(); }},
    {"callable", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_callable(); }},
    {"defined", [](const Value& v, const Arguments&, RenderBudget&) { return !v.is_undefined(); }},
    {"divisibleby",
     [](const Value& v, const Arguments& a, RenderBudget& b) {
       return values_equal(binary_operation("%", v, test_argument(a), b), Value(0));
     }},
    {"eq", [](const Value& v, const Arguments& a, RenderBudget&) { return values_equal(v, test_argument(a)); }},
    {"equalto", [](const Value& v, const Arguments& a, RenderBudget&) { return values_equal(v, test_argument(a)); }},
    {"==", [](const Value& v, const Arguments& a, RenderBudget&) { return values_equal(v, test_argument(a)); }},
    {"even", [](const Value& v, const Arguments&, RenderBudget&) {
       if (!v.is_int()) throw Fault("'even' needs an integer");
       return v.as_int() % 2 == 0;
     }},
    {"false", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_bool() && !v.as_bool(); }},
    {"float", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_float(); }},
    {"ge", [](const Value& v, const Arguments& a, RenderBudget&) { return compare(">=", v, test_argument(a)); }},
    {"gt", [](const Value& v, const Arguments& a, RenderBudget&) { return compare(">", v, test_argument(a)); }},
    {"greaterthan", [](const Value& v, const Arguments& a, RenderBudget&) { return compare(">", v, test_argument(a)); }},
    {"in", [](const Value& v, const Arguments& a, RenderBudget&) { return contains(test_argument(a), v); }},
    {"integer", [](const Value& v, const Arguments&, RenderBudget&) { return is_integer_value(v); }},
    {"iterable",
     [](const Value& v, const Arguments&, RenderBudget&) {
       return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
     }},
    {"le", [](const Value& v, const Arguments& a, RenderBudget&) { return compare("<=", v, test_argument(a)); }},
    {"lower",
     [](const Value& v, const Arguments&, RenderBudget&) {
       return v.is_string() && python_lower(v.as_string()) == v.as_string() && python_upper(v.as_string()) != v.as_string();
     }},
    {"lt", [](const Value& v, const Arguments& a, RenderBudget&) { return compare("<", v, test_argument(a)); }},
    {"lessthan", [](const Value& v, const Arguments& a, RenderBudget&) { return compare("<", v, test_argument(a)); }},
    {"mapping", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_dict(); }},
    {"ne", [](const Value& v, const Arguments& a, RenderBudget&) { return !values_equal(v, test_argument(a)); }},
    {"none", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_none(); }},
    {"number", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_number(); }},
    {"odd", [](const Value& v, const Arguments&, RenderBudget&) {
       if (!v.is_int()) throw Fault("'odd' needs an integer");
       return v.as_int() % 2 != 0;
     }},
    {"sameas",
     [](const Value& v, const Arguments& a, RenderBudget&) {
       const Value& other = test_argument(a);
       if (v.is_none() || other.is_none()) return v.is_none() && other.is_none();
       if (v.is_bool() || other.is_bool()) return v.is_bool() && other.is_bool() && v.as_bool() == other.as_bool();
       return v.type_name() == other.type_name() && values_equal(v, other);
     }},
    {"sequence",
     [](const Value& v, const Arguments&, RenderBudget&) {
       return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
     }},
    {"string", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_string(); }},
    {"true", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_bool() && v.as_bool(); }},
    {"undefined", [](const Value& v, const Arguments&, RenderBudget&) { return v.is_undefined(); }},
    {"upper",
     [](const Value& v, const Arguments&, RenderBudget&) {
       return v.is_string() && python_upper(v.as_string()) == v.as_string() && python_lower(v.as_string()) != v.as_string();
     }},
};

template <typename Table>
auto find_entry(const Table& table, std::string_view name) -> decltype(&table[0]) {
  for (const auto& entry : table) {
    if (entry.first == name) return &entry;
  }
  return nullptr;
}

}  // namespace

Value argument(const Arguments& args, size_t position, std::string_view keyword,
               const Value& fallback) {
  for (const auto& [key, value] : args.keyword) {
    if (key == keyword) return value;
  }
  return position < args.positional.size() ? args.positional[position] : fallback;
}

bool is_known_filter(std::string_view name) { return find_entry(kFilters, name) != nullptr; }
bool is_known_test(std::string_view name) { return find_entry(kTests, name) != nullptr; }

Value apply_filter(std::string_view name, const Value& input, const Arguments& args,
                   RenderBudget& budget) {
  const auto* entry = find_entry(kFilters, name);
  if (!entry) throw Fault("no filter named '" + std::string(name) + "'");
  // Filters other than default see an undefined input as jinja2 does: the ones that print or
  // iterate it treat it as empty; tojson, arithmetic and lookups fail on it.
  return entry->second(input, args, budget);
}

bool apply_test(std::string_view name, const Value& input, const Arguments& args,
                RenderBudget& budget) {
  const auto* entry = find_entry(kTests, name);
  if (!entry) throw Fault("no test named '" + std::string(name) + "'");
  return entry->second(input, args, budget);
}

}  // namespace hearth::chat
