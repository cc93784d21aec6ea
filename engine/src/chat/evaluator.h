// Renders a parsed template: jinja2's scoping (a for loop's body is a scope of its own each
// turn, so a plain `set` inside it is forgotten and namespace() carries state out), its
// Undefined, and Python's arithmetic and comparisons. Every expression and statement counts
// against the rendering's budget, and errors name the line and column they arose at.
#pragma once

#include <string>

#include "chat/ast.h"
#include "chat/render_limits.h"
#include "chat/value.h"

namespace hearth::chat {

// Renders `body` with `variables` (messages, bos_token, globals...) as the outermost scope.
// Throws hearth::Error "<name>:<line>:<column>: ..." when the template fails or raises.
std::string render_template(const Body& body, const std::string& name, Dict variables,
                            RenderBudget& budget);

}  // namespace hearth::chat
