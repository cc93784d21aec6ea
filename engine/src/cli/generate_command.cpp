#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/json_text.h"
#include "hearth/engine.h"
#include "hearth/error.h"

namespace hearth::cli {
namespace {

// --beams and its companions: the trie_beam plugin's options, loaded for this run.
struct BeamFlags {
  int32_t beams = 0;
  std::string num_return, length_penalty, early_stopping, max_new, eos, no_repeat_ngram;
  bool json = false;
  bool unshared_kv = false;
  bool reorder_kv = false;
};

void add_beam_options(ArgParser& parser, BeamFlags& flags) {
  parser.option({"--beams"}, "K", "beam search with K beams (the trie_beam plugin)", &flags.beams);
  parser.option({"--num-return"}, "N", "beam search: hypotheses returned (default 1)",
                &flags.num_return);
  parser.option({"--length-penalty"}, "X", "beam search: score = log-prob / length^X (default 1)",
                &flags.length_penalty);
  parser.option({"--early-stopping"}, "MODE", "beam search: true, false (default) or never",
                &flags.early_stopping);
  parser.option({"--max-new"}, "N", "beam search: new tokens at most", &flags.max_new);
  parser.option({"--eos"}, "ID[,ID...]", "beam search: end-of-sequence ids instead of the model's",
                &flags.eos);
  parser.option({"--no-repeat-ngram"}, "N", "beam search: never repeat an N-gram",
                &flags.no_repeat_ngram);
  parser.flag({"--json"}, "beam search: print every hypothesis as one JSON object", &flags.json);
  parser.flag({"--unshared-kv"}, "beam search: every beam copies the whole cache (for comparisons)",
              &flags.unshared_kv);
  parser.flag({"--reorder-kv"},
              "beam search: every beam copies its parent's whole cache at every step, as batch "
              "beam search's cache reorder does (for comparisons)",
              &flags.reorder_kv);
}

PluginConfig beam_plugin(const BeamFlags& flags) {
  PluginConfig plugin;
  plugin.name = "trie_beam";
  plugin.options.push_back({"num_beams", std::to_string(flags.beams)});
  const std::pair<const char*, const std::string*> passed[] = {
      {"num_return_sequences", &flags.num_return},
      {"length_penalty", &flags.length_penalty},
      {"early_stopping", &flags.early_stopping},
      {"max_new_tokens", &flags.max_new},
      {"eos_token_id", &flags.eos},
      {"no_repeat_ngram_size", &flags.no_repeat_ngram}};
  for (const auto& [key, value] : passed) {
    if (!value->empty()) plugin.options.push_back({key, *value});
  }
  if (flags.unshared_kv || flags.reorder_kv) plugin.options.push_back({"share_kv", "false"});
  if (flags.reorder_kv) plugin.options.push_back({"reorder_kv", "true"});
  return plugin;
}

// The hypotheses, then what the run cost: `steps` is the longest hypothesis (one batched pass
// each), `kv_peak_bytes` the most of the KV cache in use at once.
void print_hypotheses_json(const GenerationResult& result, size_t kv_peak_bytes) {
  std::ostringstream out;
  size_t steps = 0;
  for (const Hypothesis& h : result.hypotheses) steps = std::max(steps, h.tokens.size());
  char timing[160];
  std::snprintf(timing, sizeof timing,
                "\"prompt_tokens\": %d, \"prompt_seconds\": %.6f, \"generate_seconds\": %.6f, ",
                result.stats.prompt_tokens, result.stats.prompt_seconds,
                result.stats.generate_seconds);
  out << "{" << timing << "\"steps\": " << steps << ", \"kv_peak_bytes\": " << kv_peak_bytes
      << ", \"hypotheses\": [";
  for (size_t i = 0; i < result.hypotheses.size(); ++i) {
    const Hypothesis& h = result.hypotheses[i];
    out << (i ? ", " : "") << "{\"text\": " << json_quote(h.text) << ", \"tokens\": [";
    for (size_t t = 0; t < h.tokens.size(); ++t) out << (t ? ", " : "") << h.tokens[t];
    // JSON has no infinities: a hypothesis every token of which was banned scores null.
    char score[32] = "null";
    if (std::isfinite(h.score)) std::snprintf(score, sizeof score, "%.9g", h.score);
    out << "], \"score\": " << score << "}";
  }
  out << "]}\n";
  std::cout << out.str() << std::flush;
}

}  // namespace

int generate_command(int argc, char** argv) {
  EngineOptions engine_options;
  GenerationOptions generation;
  generation.max_tokens = -1;
  PromptOptions prompt;
  BeamFlags beam;
  ArgParser parser("hearth generate -m MODEL [-p TEXT | -f FILE] [options]",
                   "Generates text after the prompt and streams it to stdout; statistics go to "
                   "stderr. An empty prompt starts from BOS alone.");
  add_engine_options(parser, engine_options);
  std::string kv_heads;
  add_retrofit_option(parser, kv_heads);
  add_prompt_options(parser, prompt);
  add_sampling_options(parser, generation);
  parser.option({"--stop"}, "TEXT", "stop before this text appears", &prompt.stop);
  add_beam_options(parser, beam);
  if (!parser.parse(argc, argv)) return 0;
  if (engine_options.model_path.empty()) throw Error("no model: give -m MODEL");
  apply_retrofit(kv_heads, engine_options);
  std::string text = read_prompt(prompt, true);
  generation.add_bos = !prompt.no_bos;
  if (!prompt.stop.empty()) generation.stop.push_back(prompt.stop);

  if (beam.beams <= 0) {
    if (parser.given("--beams")) throw Error("option --beams must be at least 1");
    for (const char* name :
         {"--num-return", "--length-penalty", "--early-stopping", "--max-new", "--eos",
          "--no-repeat-ngram", "--json", "--unshared-kv", "--reorder-kv"}) {
      if (parser.given(name)) throw Error(std::string("option ") + name + " needs --beams");
    }
    generate_to_stdout(engine_options, text, generation);
    return 0;
  }
  engine_options.plugins.push_back(beam_plugin(beam));
  generation.strategy = "trie_beam";
  if (beam.json) {
    auto engine = Engine::load(engine_options);
    const GenerationResult result = engine->generate(text, generation);
    print_hypotheses_json(result, engine->kv_cache_stats().peak_live_bytes);
  } else {
    generate_to_stdout(engine_options, text, generation);
  }
  return 0;
}

}  // namespace hearth::cli
