#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/error.h"

namespace hearth::cli {

int generate_command(int argc, char** argv) {
  EngineOptions engine_options;
  GenerationOptions generation;
  generation.max_tokens = -1;
  PromptOptions prompt;
  ArgParser parser("hearth generate -m MODEL [-p TEXT | -f FILE] [options]",
                   "Generates text after the prompt and streams it to stdout; statistics go to "
                   "stderr. An empty prompt starts from BOS alone.");
  add_engine_options(parser, engine_options);
  add_prompt_options(parser, prompt);
  add_sampling_options(parser, generation);
  parser.option({"--stop"}, "TEXT", "stop before this text appears", &prompt.stop);
  if (!parser.parse(argc, argv)) return 0;
  if (engine_options.model_path.empty()) throw Error("no model: give -m MODEL");
  std::string text = read_prompt(prompt, true);
  generation.add_bos = !prompt.no_bos;
  if (!prompt.stop.empty()) generation.stop.push_back(prompt.stop);

  generate_to_stdout(engine_options, text, generation);
  return 0;
}

}  // namespace hearth::cli
