// Methods of values that templates call: str.strip(), str.split(), dict.get(), dict.items()...
// Looked up by attribute (`message.content.strip`), bound to their receiver.
#pragma once

#include <string_view>

#include "chat/value.h"

namespace hearth::chat {

// The method `name` of `receiver` bound to it, or nullptr when it has none this renderer
// supports (jinja2 then looks for a key or gives undefined).
Value::CallablePtr find_method(const Value& receiver, std::string_view name);

}  // namespace hearth::chat
