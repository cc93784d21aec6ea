#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/deploy_config.h"
#include "hearth/error.h"
#include "hearth/settings.h"

namespace hearth::cli {

int run_command(int argc, char** argv) {
  std::string config_path, prompt_override;
  int32_t threads = 0, max_tokens = 0;
  std::optional<uint64_t> seed;
  ArgParser parser("hearth run --config deploy.toml [options]",
                   "Generates text as a deployment file describes it. Command-line options "
                   "override the environment (HEARTH_MODEL, HEARTH_DEVICE, HEARTH_THREADS), "
                   "which overrides the file.");
  parser.option({"--config"}, "FILE", "deployment TOML file", &config_path);
  parser.option({"-p", "--prompt"}, "TEXT", "prompt text instead of [prompt]", &prompt_override);
  parser.option({"-t", "--threads"}, "N", "worker threads, 0 = physical cores", &threads,
                settings::threads);
  parser.option({"-n", "--n-predict"}, "N", "tokens to generate, -1 = until end of text",
                &max_tokens, settings::max_tokens);
  parser.option({"-s", "--seed"}, "S", "random seed", &seed);
  if (!parser.parse(argc, argv)) return 0;
  if (config_path.empty()) throw Error("no configuration: give --config FILE");
  DeployConfig config = load_deploy_config(config_path);
  if (parser.given("-p") || parser.given("--prompt")) config.prompt = prompt_override;
  if (parser.given("-t")) config.engine.threads = threads;
  if (parser.given("-n")) config.generation.max_tokens = max_tokens;
  if (seed) config.generation.sampling.seed = seed;

  generate_to_stdout(config.engine, config.prompt, config.generation);
  return 0;
}

}  // namespace hearth::cli
