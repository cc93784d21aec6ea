// Python's operators on template values, and jinja2's attribute and item lookup (an attribute
// is a method first and a key second; an item is a key first). All throw Fault.
#pragma once

#include <string>
#include <string_view>

#include "chat/render_limits.h"
#include "chat/value.h"

namespace hearth::chat {

Value get_attribute(const Value& target, std::string_view name);
Value get_item(const Value& target, const Value& key);
// target[start:stop:step] of a list, tuple or string; none for an omitted bound.
Value slice_value(const Value& target, const Value& start, const Value& stop, const Value& step,
                  RenderBudget& budget);
Value negate(const Value& value);
// + - * / // % ** ~
Value binary_operation(const std::string& op, const Value& left, const Value& right,
                       RenderBudget& budget);
// == != < <= > >= in notin
bool compare(const std::string& op, const Value& left, const Value& right);
// Whether `needle in haystack`.
bool contains(const Value& haystack, const Value& needle);

}  // namespace hearth::chat
