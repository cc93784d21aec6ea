// hearth: how a deployment names the plugins it loads ([[plugins]] tables in TOML).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hearth {

struct PluginConfig {
  std::string name;  // the plugin's declared name; its file is hearth-<name>.so
  std::string path;  // explicit library file (optional; otherwise searched for)
  std::vector<std::pair<std::string, std::string>> options;  // [plugins.options], as text
  bool required = true;  // refused: stop start-up (true) or warn and go on without it
  // The folder of the configuration file the options came from (what relative paths in them
  // start from); empty when they came from the API.
  std::string config_dir;
};

struct PluginInfo {
  std::string name, version, description, kind, path;
  int32_t leaked_sequences = 0;  // decoding: sequences it left behind that the host dropped
};

}  // namespace hearth
