// `hearth plugins`: what the plugin search finds, what each library declares, and the one
// line that says why a library was refused.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/deploy_config.h"
#include "plugins/plugin_discovery.h"
#include "plugins/plugin_library.h"
#include "util/printable.h"

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
  const auto search = plugins::search_directories(dirs);
  std::printf("search path:\n");
  for (const auto& d : search) std::printf("  %s\n", d.c_str());
  std::vector<std::string> libraries = plugins::list_libraries(search);
  for (const auto& p : configured) {
    if (!p.path.empty()) libraries.push_back(p.path);
  }
  std::printf("\nplugins:\n");
  int refused = 0;
  for (const auto& path : libraries) {
    try {
      auto library = plugins::load_library(path);
      const auto* d = library.descriptor;
      std::printf("  %-16s %-9s v%-8s ABI %u.%u  %s\n      %s\n", util::printable(d->name).c_str(),
                  plugins::kind_name(d->kind),
                  util::printable(d->version ? d->version : "?").c_str(), d->abi_major,
                  d->abi_minor, util::printable(path).c_str(),
                  util::printable(d->description ? d->description : "").c_str());
    } catch (const plugins::PluginRefused& e) {
      ++refused;
      std::printf("  refused: %s\n", util::printable(e.what()).c_str());
    }
  }
  if (libraries.empty()) std::printf("  (none found)\n");
  for (const auto& p : configured) {
    if (!p.path.empty() || p.name.empty()) continue;
    if (plugins::find_library(p.name, search).empty()) {
      ++refused;
      std::printf("  refused: plugin '%s' named in %s: no hearth-%s.so in the search path\n",
                  util::printable(p.name).c_str(), util::printable(config_path).c_str(),
                  util::printable(p.name).c_str());
    }
  }
  return refused > 0 && !configured.empty() ? 1 : 0;
}

}  // namespace hearth::cli
