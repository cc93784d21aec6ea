#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/progress.h"
#include "hearth/deploy_config.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/settings.h"

namespace hearth::cli {

int run_command(int argc, char** argv) {
  std::string config_path, prompt_override, knowledge, metrics_out, prometheus_out;
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
  parser.option({"--set"}, "NAME",
                "answer the prompt from this knowledge set instead of [prompt] knowledge",
                &knowledge);
  parser.option({"--metrics-out"}, "FILE",
                "after the run, write the metrics plugin's report here (oae: its run file)",
                &metrics_out);
  parser.option({"--prometheus-out"}, "FILE",
                "after the run, write every metrics plugin's counters here as Prometheus text",
                &prometheus_out);
  if (!parser.parse(argc, argv)) return 0;
  if (config_path.empty()) throw Error("no configuration: give --config FILE");
  DeployConfig config = load_deploy_config(config_path);
  if (parser.given("-p") || parser.given("--prompt")) config.prompt = prompt_override;
  if (parser.given("-t")) config.engine.threads = threads;
  if (parser.given("-n")) config.generation.max_tokens = max_tokens;
  if (seed) config.generation.sampling.seed = seed;
  if (parser.given("--set")) config.generation.knowledge_prefix = knowledge;

  config.engine.on_load_progress = terminal_progress("loading model");
  config.engine.on_progress = terminal_task_progress();
  auto engine = Engine::load(config.engine);
  const std::string& set = config.generation.knowledge_prefix;
  if (set.empty()) {
    stream_to_stdout(*engine, config.prompt, config.generation);
  } else {
    // A question on a knowledge set: its prefix is loaded (or built), the prompt goes where
    // the set's template puts the question.
    engine->knowledge_build(set, {});
    stream_to_stdout(*engine, engine->knowledge_compose(set, config.prompt), config.generation);
  }
  if (!metrics_out.empty()) engine->metrics_report(metrics_out);
  if (!prometheus_out.empty()) {
    std::ofstream out(prometheus_out, std::ios::binary | std::ios::trunc);
    out << engine->metrics_prometheus();
    out.close();
    if (!out) throw Error("cannot write '" + prometheus_out + "'");
  }
  return 0;
}

}  // namespace hearth::cli
