// Loading plugin libraries: Boost.DLL opens the file, the entry point gives the descriptor,
// and the descriptor is checked (ABI major, struct sizes, required members) before anything
// in it is called. Libraries stay loaded for the life of the process; loading is serialized.
#pragma once

#include <string>
#include <vector>

#include "hearth/error.h"
#include "hearth/plugin.h"

namespace hearth::plugins {

// A refusal: one line naming the file and the reason.
class PluginRefused : public Error {
 public:
  using Error::Error;
};

struct LoadedLibrary {
  std::string path;
  const hearth_plugin_descriptor* descriptor = nullptr;
};

// Throws PluginRefused for a file that is not a loadable library, has no entry point,
// returns no descriptor, another ABI major, or a descriptor with missing members.
LoadedLibrary load_library(const std::string& path);

const char* kind_name(hearth_plugin_kind kind);

}  // namespace hearth::plugins
