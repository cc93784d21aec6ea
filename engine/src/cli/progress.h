// Load progress for people at a terminal: a percentage on stderr, nothing when redirected.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace hearth::cli {

// Returns a callback printing "label NN%" in place on stderr when it is a terminal, or an
// empty function otherwise.
std::function<void(float)> terminal_progress(std::string label);

// The same for plugins' one-time work (EngineOptions::on_progress): "task NN% (done/total)".
std::function<void(const std::string&, int64_t, int64_t)> terminal_task_progress();

}  // namespace hearth::cli
