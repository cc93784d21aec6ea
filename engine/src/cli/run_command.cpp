#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/deploy_config.h"
#include "hearth/error.h"

namespace hearth::cli {

int run_command(int argc, char** argv) {
  std::string config_path, prompt_override;
  int32_t threads = -1, max_tokens = -2;
  std::optional<uint64_t> seed;
  ArgParser parser("hearth run --config deploy.toml [options]",
                   "Generates text as a deployment file describes it. Command-line options "
                   "override the environment (HEARTH_MODEL, HEARTH_DEVICE, HEARTH_THREADS), "
                   "which overrides the file.");
  parser.option({"--config"}, "FILE", "deployment TOML file", &config_path);
  parser.option({"-p", "--prompt"}, "TEXT", "prompt text instead of [prompt]", &prompt_override);
  parser.option({"-t", "--threads"}, "N", "worker threads", &threads);
  parser.option({"-n", "--n-predict"}, "N", "tokens to generate", &max_tokens);
  parser.option({"-s", "--seed"}, "S", "random seed", &seed);
  if (!parser.parse(argc, argv)) return 0;
  if (config_path.empty()) throw Error("no configuration: give --config FILE");
  DeployConfig config = load_deploy_config(config_path);
  if (parser.given("-p") || parser.given("--prompt")) config.prompt = prompt_override;
  if (threads >= 0) config.engine.threads = threads;
  if (max_tokens != -2) config.generation.max_tokens = max_tokens;
  if (seed) config.generation.sampling.seed = seed;

  generate_to_stdout(config.engine, config.prompt, config.generation);
  return 0;
}

}  // namespace hearth::cli
