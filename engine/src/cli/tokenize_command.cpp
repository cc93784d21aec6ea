#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/error.h"
#include "hearth/tokenizer.h"

namespace hearth::cli {

int tokenize_command(int argc, char** argv) {
  std::string model;
  PromptOptions prompt;
  bool parse_special = false;
  ArgParser parser("hearth tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--parse-special]",
                   "Prints the token ids of the text on one line, separated by spaces.");
  parser.option({"-m", "--model"}, "FILE", "model file (GGUF); only its vocabulary is read",
                &model);
  add_prompt_options(parser, prompt);
  parser.flag({"--parse-special"}, "turn special-token text such as <s> into those tokens",
              &parse_special);
  if (!parser.parse(argc, argv)) return 0;
  if (model.empty()) throw Error("no model: give -m MODEL");
  if (prompt.text.empty() && prompt.file.empty() && !parser.given("-p") &&
      !parser.given("--prompt")) {
    throw Error("no text: give -p TEXT or -f FILE");
  }
  std::string text = read_prompt(prompt, true);
  const auto tokenizer = ModelTokenizer::load(model);
  auto ids = tokenizer.tokenize(text, !prompt.no_bos && tokenizer.wants_bos(), parse_special);
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace hearth::cli
