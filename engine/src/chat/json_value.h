// Between JSON and template values: messages and extra variables come in as nlohmann JSON
// (objects keep their order when given as ordered_json), and the `tojson` filter writes
// JSON exactly as Python's json.dumps does, which is what Hugging Face's filter calls.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "chat/value.h"

namespace hearth::chat {

// Throw Fault when the JSON nests deeper than kMaxValueDepth.
Value from_json(const nlohmann::json& json);
Value from_json(const nlohmann::ordered_json& json);

struct JsonStyle {
  bool ensure_ascii = false;  // Hugging Face's default: text as it is
  bool indented = false;
  std::string indent;  // the indent of one level when `indented`
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};

// json.dumps(value, ...). Throws Fault for what JSON cannot hold (undefined, a namespace).
std::string to_json(const Value& value, const JsonStyle& style, RenderBudget& budget);

}  // namespace hearth::chat
