// hearth: command-line entry point.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "hearth/text.h"

namespace {

constexpr const char* kUsage =
    "usage: hearth <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate   generate text from a prompt\n"
    "  tokenize   print the token ids of a text\n"
    "  info       print a model file's metadata and tensors\n"
    "  bench      measure prefill and decode speed\n"
    "  run        generate as described by a deployment TOML file\n"
    "  plugins    list the plugins found and why any was refused\n"
    "  plugin-check  load a plugin library and run its interface's contract tests\n"
    "  cag        build, inspect and ask a deployment's knowledge sets\n"
    "  perplexity measure a model's perplexity on a text (llama-perplexity's method)\n"
    "  retrofit   convert a model to grouped-query attention and write it\n"
    "  oae        measure what a method costs against its baseline, and report it\n"
    "  template   print what a conversation becomes through a chat template\n"
    "  quantize   write a float model's matrices in another weight format\n"
    "  chat       converse with a model through its chat template\n"
    "  serve      serve the model over an OpenAI-compatible HTTP API\n"
    "\n"
    "Run 'hearth <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  int (*handler)(int, char**) = nullptr;
  if (command == "generate") handler = hearth::cli::generate_command;
  if (command == "tokenize") handler = hearth::cli::tokenize_command;
  if (command == "info") handler = hearth::cli::info_command;
  if (command == "bench") handler = hearth::cli::bench_command;
  if (command == "run") handler = hearth::cli::run_command;
  if (command == "plugins") handler = hearth::cli::plugins_command;
  if (command == "plugin-check") handler = hearth::cli::plugin_check_command;
  if (command == "cag") handler = hearth::cli::cag_command;
  if (command == "perplexity") handler = hearth::cli::perplexity_command;
  if (command == "retrofit") handler = hearth::cli::retrofit_command;
  if (command == "oae") handler = hearth::cli::oae_command;
  if (command == "template") handler = hearth::cli::template_command;
  if (command == "quantize") handler = hearth::cli::quantize_command;
  if (command == "chat") handler = hearth::cli::chat_command;
  if (command == "serve") handler = hearth::cli::serve_command;
  if (!handler) {
    std::fprintf(stderr, "hearth: unknown command '%s'\n\n%s", hearth::printable(command).c_str(),
                 kUsage);
    return 2;
  }
  try {
    return handler(argc - 2, argv + 2);
  } catch (const std::exception& e) {
    // Messages may quote bytes from files (metadata, keys, names): never raw to a terminal.
    std::fprintf(stderr, "hearth %s: error: %s\n", command.c_str(),
                 hearth::printable(e.what()).c_str());
    return 1;
  }
}
