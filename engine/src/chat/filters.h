// jinja2's filters and tests (`x | trim`, `x is defined`) as chat templates use them, with
// Hugging Face's `tojson` (json.dumps, text kept as it is, keys in their order).
#pragma once

#include <string_view>

#include "chat/render_limits.h"
#include "chat/value.h"

namespace hearth::chat {

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

// Throw Fault for a bad argument or an input the filter or test cannot take.
Value apply_filter(std::string_view name, const Value& input, const Arguments& args,
                   RenderBudget& budget);
bool apply_test(std::string_view name, const Value& input, const Arguments& args,
                RenderBudget& budget);

// An argument by position or keyword, or `fallback` when it is absent.
Value argument(const Arguments& args, size_t position, std::string_view keyword,
               const Value& fallback);

}  // namespace hearth::chat
