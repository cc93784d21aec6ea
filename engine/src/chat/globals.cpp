#include "chat/globals.h"

#include <ctime>

#include "chat/render_limits.h"

namespace hearth::chat {
namespace {

Value function(std::string name, std::function<Value(const Arguments&, RenderBudget&)> call) {
  auto callable = std::make_shared<Callable>();
  callable->name = std::move(name);
  callable->call = std::move(call);
  return Value(Value::CallablePtr(std::move(callable)));
}

int64_t integer_argument(const Value& v) {
  if (v.is_bool()) return v.as_bool();
  if (!v.is_int()) throw Fault("range() takes integers, not '" + v.type_name() + "'");
  return v.as_int();
}

Value range(const Arguments& args, RenderBudget& budget) {
  if (!args.keyword.empty()) throw Fault("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) throw Fault("range() takes 1 to 3 arguments");
  int64_t start = 0, stop = 0, step = 1;
  if (p.size() == 1) {
    stop = integer_argument(p[0]);
  } else {
    start = integer_argument(p[0]);
    stop = integer_argument(p[1]);
    if (p.size() == 3) step = integer_argument(p[2]);
  }
  if (step == 0) throw Fault("range() arg 3 must not be zero");
  // The count is worked out in wide arithmetic first, so range(10**18) is refused, not built.
  const __int128 span = step > 0 ? __int128{stop} - start : __int128{start} - stop;
  const __int128 magnitude = step > 0 ? step : -__int128{step};
  const __int128 count = span <= 0 ? 0 : (span + magnitude - 1) / magnitude;
  if (count > static_cast<__int128>(kMaxListItems)) {
    budget.check_list_size(kMaxListItems + 1);
  }
  budget.charge_bytes(static_cast<size_t>(count) * sizeof(Value));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (__int128 i = 0; i < count; ++i) items.emplace_back(static_cast<int64_t>(start + i * step));
  return Value::list(std::move(items));
}

Value make_namespace(const Arguments& args, RenderBudget&) {
  auto ns = std::make_shared<Namespace>();
  for (const Value& initial : args.positional) {
    if (!initial.is_dict()) throw Fault("namespace() takes a dict or keyword arguments");
    ns->attributes.entries = initial.as_dict().entries;
  }
  for (const auto& [key, value] : args.keyword) {
    if (value.holds_namespace()) throw Fault("a namespace() cannot hold a namespace()");
    bool replaced = false;
    for (auto& entry : ns->attributes.entries) {
      if (entry.first == key) {
        entry.second = value;
        replaced = true;
      }
    }
    if (!replaced) ns->attributes.entries.emplace_back(key, value);
  }
  return Value(Value::NamespacePtr(std::move(ns)));
}

Value make_dict(const Arguments& args, RenderBudget&) {
  Dict dict;
  for (const Value& initial : args.positional) {
    if (!initial.is_dict()) throw Fault("dict() takes a dict or keyword arguments");
    dict.entries = initial.as_dict().entries;
  }
  for (const auto& [key, value] : args.keyword) dict.entries.emplace_back(key, value);
  return Value::dict(std::move(dict));
}

}  // namespace

void add_globals(Dict& variables, int64_t now_unix_seconds) {
  variables.entries.emplace_back("range", function("range", range));
  variables.entries.emplace_back("namespace", function("namespace", make_namespace));
  variables.entries.emplace_back("dict", function("dict", make_dict));
  variables.entries.emplace_back(
      "raise_exception",
      function("raise_exception", [](const Arguments& args, RenderBudget&) -> Value {
        const std::string message =
            args.positional.empty() ? std::string() : to_display(args.positional[0]);
        throw Fault("raise_exception: " + message);
      }));
  variables.entries.emplace_back(
      "strftime_now",
      function("strftime_now", [now_unix_seconds](const Arguments& args, RenderBudget& budget) {
        if (args.positional.size() != 1 || !args.positional[0].is_string()) {
          throw Fault("strftime_now() takes one format string");
        }
        const std::string& format = args.positional[0].as_string();
        if (format.size() > 256) throw Fault("strftime_now() format longer than 256 bytes");
        const std::time_t now =
            now_unix_seconds >= 0 ? static_cast<std::time_t>(now_unix_seconds) : std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        // Each directive expands to at most a few dozen bytes.
        std::string out(format.size() * 64 + 1, '\0');
        const size_t n =
            format.empty() ? 0 : std::strftime(out.data(), out.size(), format.c_str(), &local);
        out.resize(n);
        budget.charge_bytes(n);
        return Value(std::move(out));
      }));
}

}  // namespace hearth::chat
