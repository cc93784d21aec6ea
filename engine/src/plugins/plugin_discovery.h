// Where plugins are looked for, in order: the configuration's plugin_dirs, the directories
// in HEARTH_PLUGIN_PATH (colon-separated), the executable's directory, and
// <prefix>/lib/hearth/plugins beside an installed executable. A plugin named "x" is the file
// hearth-x.so in the first directory that has one; a [[plugins]] entry may give a path.
#pragma once

#include <string>
#include <vector>

namespace hearth::plugins {

std::vector<std::string> search_directories(const std::vector<std::string>& configured);

// The library for plugin `name`: "" when no directory has one.
std::string find_library(const std::string& name, const std::vector<std::string>& directories);

// Every hearth-*.so in the directories (first occurrence of each file name wins).
std::vector<std::string> list_libraries(const std::vector<std::string>& directories);

}  // namespace hearth::plugins
