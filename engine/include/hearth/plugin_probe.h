// hearth: finding plugin libraries and reading what one declares, without creating the plugin
// or loading a model — what a listing of the installed plugins and a plugin author's checks
// start from.
//
// Where plugins are looked for, in order: the configuration's plugin_dirs, the directories in
// HEARTH_PLUGIN_PATH (colon-separated), the executable's directory, and
// <prefix>/lib/hearth/plugins beside an installed executable. A plugin named "x" is the file
// hearth-x.so in the first directory that has one; a [[plugins]] entry may give a path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hearth {

// What a plugin library declares in its descriptor.
struct PluginLibraryInfo {
  std::string path;
  std::string name;
  std::string version;                    // free text; "" when the library declares none
  std::string description;                // one line; "" when the library declares none
  std::string kind;                       // decoding | knowledge | attention | metrics
  uint16_t abi_major = 0, abi_minor = 0;  // the plugin ABI the library was built against
  // A decoding plugin with begin/step/result/end (ABI 1.2): the scheduler drives it step by
  // step beside other requests. Without them it runs each request alone with run().
  bool step_wise = false;
};

// The search path: `configured` directories first, then the rest as above, without repeats.
std::vector<std::string> plugin_search_directories(const std::vector<std::string>& configured);

// The library for plugin `name`: "" when no directory has one.
std::string find_plugin_library(const std::string& name,
                                const std::vector<std::string>& directories);

// Every hearth-*.so in the directories (first occurrence of each file name wins).
std::vector<std::string> list_plugin_libraries(const std::vector<std::string>& directories);

// Loads the library (it stays loaded for the life of the process) and checks its descriptor
// as the engine does before using a plugin. A refusal — not a regular file, not a loadable
// library, no entry point, another ABI major, missing members — throws hearth::Error with one
// line naming the file and the reason.
PluginLibraryInfo probe_plugin_library(const std::string& path);

}  // namespace hearth
