// hearth cag build|info|ask: a deployment's knowledge sets (the knowledge plugin its TOML
// file configures, cag), for the people who run it.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "hearth/deploy_config.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth::cli {
namespace {

constexpr const char* kUsage =
    "usage: hearth cag <build|info|ask> --config deploy.toml [options]\n"
    "\n"
    "  build   prefill each knowledge set (or --set NAME) and write its cache file, or load\n"
    "          the cache file when it still matches the documents\n"
    "  info    the sets: documents, token counts, what their cache files hold\n"
    "  ask     answer one question (-p) from a set's prefix\n"
    "\n"
    "Run 'hearth cag <action> --help' for an action's options.\n";

struct Common {
  std::string config, set;
  int32_t threads = 0;
};

void add_common(ArgParser& parser, Common& c) {
  parser.option({"--config"}, "FILE", "deployment TOML file with a knowledge plugin", &c.config);
  parser.option({"--set"}, "NAME", "the knowledge set (default: every one, or the only one)",
                &c.set);
  parser.option({"-t", "--threads"}, "N", "worker threads, 0 = physical cores", &c.threads,
                settings::threads);
}

DeployConfig read_config(const ArgParser& parser, const Common& c) {
  if (c.config.empty()) throw Error("no configuration: give --config FILE");
  DeployConfig config = load_deploy_config(c.config);
  if (parser.given("-t") || parser.given("--threads")) config.engine.threads = c.threads;
  return config;
}

std::unique_ptr<Engine> load_engine(DeployConfig& config, bool show_progress) {
  if (show_progress) {
    config.engine.on_load_progress = terminal_progress("loading model");
    config.engine.on_progress = terminal_task_progress();
  }
  return Engine::load(config.engine);
}

// The sets an action works on: --set, checked against what the plugin knows, or all of them.
std::vector<std::string> chosen_sets(Engine& engine, const Common& c) {
  bool has_knowledge = false;
  for (const PluginInfo& plugin : engine.plugins()) has_knowledge |= plugin.kind == "knowledge";
  if (!has_knowledge) {
    throw Error(c.config + " configures no knowledge plugin: add [[plugins]] name = \"cag\"");
  }
  const std::vector<std::string> known = engine.knowledge_sets();
  if (c.set.empty()) {
    if (known.empty()) throw Error(c.config + ": the knowledge plugin has no sets configured");
    return known;
  }
  for (const std::string& name : known) {
    if (name == c.set) return {name};
  }
  std::string listed;
  for (const std::string& name : known) listed += (listed.empty() ? "" : ", ") + name;
  throw Error("no knowledge set named '" + c.set + "' in " + c.config +
              (listed.empty() ? "" : " (configured: " + listed + ")"));
}

void print_build(const std::string& set, const KnowledgeBuildStats& built, Engine& engine) {
  const SequenceId probe = engine.knowledge_attach(set);
  const int32_t tokens = engine.sequence_length(probe);
  engine.drop_sequence(probe);
  if (built.forwarded_tokens == 0) {
    std::printf("%s: %d tokens, loaded from its cache file in %.3f s\n", set.c_str(), tokens,
                built.seconds);
  } else {
    std::printf(
        "%s: %d tokens, %lld prefilled in %.3f s (%.1f tok/s)\n", set.c_str(), tokens,
        static_cast<long long>(built.forwarded_tokens), built.seconds,
        built.seconds > 0 ? static_cast<double>(built.forwarded_tokens) / built.seconds : 0.0);
  }
  std::fflush(stdout);
}

int build_action(int argc, char** argv) {
  Common c;
  ArgParser parser("hearth cag build --config deploy.toml [--set NAME]",
                   "Prefills the knowledge sets and writes their cache files; a cache file that "
                   "still matches is loaded instead, and a changed set recomputes only from its "
                   "first changed document on.");
  add_common(parser, c);
  if (!parser.parse(argc, argv)) return 0;
  DeployConfig config = read_config(parser, c);
  auto engine = load_engine(config, true);
  for (const std::string& set : chosen_sets(*engine, c)) {
    print_build(set, engine->knowledge_build(set, {}), *engine);
  }
  return 0;
}

int info_action(int argc, char** argv) {
  Common c;
  ArgParser parser("hearth cag info --config deploy.toml [--set NAME]",
                   "Lists the knowledge sets: their documents, token counts and whether their "
                   "cache files would be used. Builds nothing.");
  add_common(parser, c);
  if (!parser.parse(argc, argv)) return 0;
  DeployConfig config = read_config(parser, c);
  auto engine = load_engine(config, false);
  std::ostringstream out;
  for (const std::string& set : chosen_sets(*engine, c)) {
    for (const auto& [key, value] : engine->knowledge_describe(set)) {
      if (key == "set") {
        out << "set " << printable(value) << '\n';
      } else {
        out << "  " << printable(key) << ": " << printable(value) << '\n';
      }
    }
  }
  std::cout << out.str() << std::flush;
  return 0;
}

int ask_action(int argc, char** argv) {
  Common c;
  PromptOptions prompt;
  int32_t max_tokens = 256;
  float temperature = 0;
  std::optional<uint64_t> seed;
  bool json = false;
  ArgParser parser("hearth cag ask --config deploy.toml [--set NAME] -p QUESTION [options]",
                   "Answers a question from a knowledge set: the set's prefix is loaded (or "
                   "built), only the question is prefilled. The answer goes to stdout. Sampling "
                   "follows the file's [sampling], but greedy unless --temp says otherwise.");
  add_common(parser, c);
  parser.option({"-p", "--prompt"}, "QUESTION", "the question", &prompt.text);
  parser.option({"-f", "--file"}, "FILE", "read the question from a file", &prompt.file);
  parser.option({"-n", "--n-predict"}, "N", "tokens to generate at most (default 256)", &max_tokens,
                settings::max_tokens);
  parser.option({"--temp"}, "T", "temperature (default 0: greedy)", &temperature,
                settings::temperature);
  parser.option({"-s", "--seed"}, "S", "random seed", &seed);
  parser.flag({"--json"}, "print one JSON object: text, tokens, ttft_s, prefilled_tokens", &json);
  if (!parser.parse(argc, argv)) return 0;
  const std::string question = read_prompt(prompt, false);
  DeployConfig config = read_config(parser, c);
  GenerationOptions generation = config.generation;
  generation.max_tokens = max_tokens;
  generation.sampling.temperature = temperature;
  if (seed) generation.sampling.seed = seed;
  auto engine = load_engine(config, !json);
  const std::vector<std::string> sets = chosen_sets(*engine, c);
  if (sets.size() != 1) throw Error("several knowledge sets are configured: give --set NAME");
  const std::string& set = sets.front();
  engine->knowledge_build(set, {});
  generation.knowledge_prefix = set;
  const std::string composed = engine->knowledge_compose(set, question);
  if (!json) {
    stream_to_stdout(*engine, composed, generation);
    return 0;
  }
  const GenerationResult result = engine->generate(composed, generation);
  std::ostringstream out;
  char timing[128];
  const GenerationStats& stats = result.stats;
  const double ttft = stats.queue_seconds + stats.prompt_seconds;
  std::snprintf(timing, sizeof timing,
                "\"ttft_s\": %.6f, \"total_s\": %.6f, \"prefilled_tokens\": %d, ", ttft,
                ttft + stats.generate_seconds, stats.prompt_tokens);
  out << "{\"set\": " << json_quote(set) << ", \"text\": " << json_quote(result.text)
      << ", \"tokens\": [";
  for (size_t i = 0; i < result.tokens.size(); ++i) out << (i ? ", " : "") << result.tokens[i];
  out << "], " << timing << "\"stop\": \"" << stop_reason_name(result.stop_reason) << "\"}\n";
  std::cout << out.str() << std::flush;
  return 0;
}

}  // namespace

int cag_command(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "-h") || !std::strcmp(argv[0], "--help")) {
    std::fputs(kUsage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  const std::string action = argv[0];
  if (action == "build") return build_action(argc - 1, argv + 1);
  if (action == "info") return info_action(argc - 1, argv + 1);
  if (action == "ask") return ask_action(argc - 1, argv + 1);
  std::fprintf(stderr, "hearth cag: unknown action '%s'\n\n%s", printable(action).c_str(), kUsage);
  return 2;
}

}  // namespace hearth::cli
