// Load progress for people at a terminal: a percentage on stderr, nothing when redirected.
#pragma once

#include <functional>
#include <string>

namespace hearth::cli {

// Returns a callback printing "label NN%" in place on stderr when it is a terminal, or an
// empty function otherwise.
std::function<void(float)> terminal_progress(std::string label);

}  // namespace hearth::cli
