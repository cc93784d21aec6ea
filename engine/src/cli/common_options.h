// Options shared by the subcommands that load a model or sample text.
#pragma once

#include <string>

#include "cli/arg_parser.h"
#include "hearth/engine.h"
#include "hearth/generation.h"

namespace hearth::cli {

struct PromptOptions {
  std::string text, file, stop;
  bool no_bos = false;
};

void add_engine_options(ArgParser& parser, EngineOptions& options);
// --kv-heads N | 1/N | list: the gqa_retrofit plugin, loaded for this run when given.
void add_retrofit_option(ArgParser& parser, std::string& kv_heads);
void apply_retrofit(const std::string& kv_heads, EngineOptions& options);
void add_sampling_options(ArgParser& parser, GenerationOptions& options);
void add_prompt_options(ArgParser& parser, PromptOptions& options);

// The prompt text from -p or -f (exactly one of them, or neither when `allow_none`).
std::string read_prompt(const PromptOptions& options, bool allow_none);

// Loads the model (progress on a terminal), streams the generated text to stdout and prints
// a timing summary to stderr.
void generate_to_stdout(EngineOptions engine_options, const std::string& prompt,
                        const GenerationOptions& generation);
// The same with an engine already loaded.
GenerationResult stream_to_stdout(Engine& engine, const std::string& prompt,
                                  const GenerationOptions& generation);

}  // namespace hearth::cli
