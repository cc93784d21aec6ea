// `hearth plugins`: what the plugin search finds, what each library declares, and the one
// line that says why a library was refused.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/deploy_config.h"
#include "hearth/error.h"
#include "hearth/plugin_probe.h"
#include "hearth/text.h"

namespace hearth::cli {

int plugins_command(int argc, char** argv) {
  std::string config_path;
  std::vector<std::string> dirs;
  ArgParser parser("hearth plugins [--config FILE] [--plugin-dir DIR]...",
                   "Lists the plugin libraries (hearth-*.so) in the search path: the config's "
                   "plugin_dirs, HEARTH_PLUGIN_PATH, the executable's directory and "
                   "<prefix>/lib/hearth/plugins.");
  parser.option({"--config"}, "FILE", "take plugin_dirs and [[plugins]] from a deployment file",
                &config_path);
  parser.option({"--plugin-dir"}, "DIR", "also search DIR (repeatable)", &dirs);
  if (!parser.parse(argc, argv)) return 0;
  std::vector<PluginConfig> configured;
  if (!config_path.empty()) {
    DeployConfig config = load_deploy_config(config_path);
    dirs.insert(dirs.begin(), config.engine.plugin_dirs.begin(), config.engine.plugin_dirs.end());
    configured = config.engine.plugins;
  }
  const auto search = plugin_search_directories(dirs);
  std::printf("search path:\n");
  for (const auto& d : search) std::printf("  %s\n", d.c_str());
  std::vector<std::string> libraries = list_plugin_libraries(search);
  for (const auto& p : configured) {
    if (!p.path.empty()) libraries.push_back(p.path);
  }
  std::printf("\nplugins:\n");
  int refused = 0;
  for (const auto& path : libraries) {
    try {
      const PluginLibraryInfo library = probe_plugin_library(path);
      std::printf("  %-16s %-9s v%-8s ABI %u.%u  %s\n      %s\n", printable(library.name).c_str(),
                  library.kind.c_str(),
                  printable(library.version.empty() ? "?" : library.version).c_str(),
                  library.abi_major, library.abi_minor, printable(path).c_str(),
                  printable(library.description).c_str());
    } catch (const Error& e) {
      ++refused;
      std::printf("  refused: %s\n", printable(e.what()).c_str());
    }
  }
  if (libraries.empty()) std::printf("  (none found)\n");
  for (const auto& p : configured) {
    if (!p.path.empty() || p.name.empty()) continue;
    if (find_plugin_library(p.name, search).empty()) {
      ++refused;
      std::printf("  refused: plugin '%s' named in %s: no hearth-%s.so in the search path\n",
                  printable(p.name).c_str(), printable(config_path).c_str(),
                  printable(p.name).c_str());
    }
  }
  return refused > 0 && !configured.empty() ? 1 : 0;
}

}  // namespace hearth::cli
