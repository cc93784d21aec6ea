// hearth: a deployment described by one TOML file (model, runtime, sampling, prompt, server).
#pragma once

#include <string>

#include "hearth/engine.h"
#include "hearth/generation.h"
#include "hearth/server_options.h"

namespace hearth {

struct DeployConfig {
  EngineOptions engine;
  GenerationOptions generation;
  std::string prompt;    // [prompt] text, or the contents of [prompt] file
  ServerOptions server;  // [server]: what `hearth serve` listens on and its limits
};

// Parses a deployment file. Unknown keys, wrong types and out-of-range values are errors
// naming the file, line and column. Relative paths are relative to the file's folder.
// Environment variables override the file: HEARTH_MODEL, HEARTH_DEVICE, HEARTH_THREADS.
DeployConfig load_deploy_config(const std::string& path);
DeployConfig parse_deploy_config(std::string_view text, const std::string& path);

}  // namespace hearth
