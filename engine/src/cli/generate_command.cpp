#include <cstdio>

#include "cli/commands.h"
#include "hearth/error.h"
#include "cli/common_options.h"
#include "util/progress.h"

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

  engine_options.on_load_progress = util::terminal_progress("loading model");
  auto engine = Engine::load(engine_options);
  auto result = engine->generate(text, generation, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  print_generation_stats(engine->model_info(), result);
  return 0;
}

}  // namespace hearth::cli
