// `hearth bench`: prefill and decode throughput, measured the way llama-bench does (pp: one
// batch of N prompt tokens; tg: N single-token decode steps), repeated, median reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/error.h"
#include "util/progress.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double spread(const std::vector<double>& v) {
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *hi - *lo;
}

double time_prefill(Engine& engine, const std::vector<int32_t>& tokens) {
  SequenceId s = engine.create_sequence();
  auto start = Clock::now();
  engine.prefill(s, tokens);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.drop_sequence(s);
  return tokens.size() / seconds;
}

double time_decode(Engine& engine, const std::vector<int32_t>& tokens) {
  SequenceId s = engine.create_sequence();
  std::vector<float> logits;
  auto start = Clock::now();
  for (size_t i = 0; i < tokens.size(); ++i) {
    BatchToken t{tokens[i], static_cast<int32_t>(i), s, true};
    engine.decode({&t, 1}, logits);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  engine.drop_sequence(s);
  return tokens.size() / seconds;
}

}  // namespace

int bench_command(int argc, char** argv) {
  EngineOptions options;
  int32_t prompt_tokens = 128, generate_tokens = 128, repetitions = 3;
  bool json = false;
  ArgParser parser("hearth bench -m MODEL [-p N] [-n N] [-r N] [-t THREADS] [--json]",
                   "Measures prefill (one batch of -p tokens) and decode (-n single-token "
                   "steps) throughput; each is repeated -r times after a warm-up and the "
                   "median is reported.");
  add_engine_options(parser, options);
  parser.option({"-p", "--n-prompt"}, "N", "prompt tokens per prefill run (default 128)",
                &prompt_tokens);
  parser.option({"-n", "--n-gen"}, "N", "tokens per decode run (default 128)", &generate_tokens);
  parser.option({"-r", "--repetitions"}, "N", "runs of each test (default 3)", &repetitions);
  parser.flag({"--json"}, "print one JSON object", &json);
  if (!parser.parse(argc, argv)) return 0;
  if (options.model_path.empty()) throw Error("no model: give -m MODEL");
  if (prompt_tokens < 0 || generate_tokens < 0 || repetitions < 1) {
    throw Error("-p and -n must be >= 0 and -r >= 1");
  }
  options.max_batch_tokens = std::max(options.max_batch_tokens, prompt_tokens);
  options.context_size = std::max({options.context_size, prompt_tokens + 16, generate_tokens + 16});
  if (!json) options.on_load_progress = util::terminal_progress("loading model");
  auto engine = Engine::load(options);
  const ModelInfo& info = engine->model_info();

  // Random token ids: speed does not depend on which tokens are fed.
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> pick(0, info.vocab_size - 1);
  std::vector<int32_t> prompt(prompt_tokens), decode(generate_tokens);
  for (auto& t : prompt) t = pick(rng);
  for (auto& t : decode) t = pick(rng);

  std::vector<double> pp, tg;
  if (prompt_tokens > 0) {
    time_prefill(*engine, prompt);  // warm-up: page in weights, size scratch buffers
    for (int r = 0; r < repetitions; ++r) pp.push_back(time_prefill(*engine, prompt));
  }
  if (generate_tokens > 0) {
    time_decode(*engine, std::vector<int32_t>(decode.begin(),
                                              decode.begin() + std::min(8, generate_tokens)));
    for (int r = 0; r < repetitions; ++r) tg.push_back(time_decode(*engine, decode));
  }
  double pp_med = pp.empty() ? 0 : median(pp), tg_med = tg.empty() ? 0 : median(tg);
  double pp_spread = pp.empty() ? 0 : spread(pp), tg_spread = tg.empty() ? 0 : spread(tg);
  if (json) {
    std::printf(
        "{\"model\": \"%s\", \"device\": \"%s\", \"weight_bytes\": %zu, \"prompt_tokens\": %d, "
        "\"generate_tokens\": %d, \"repetitions\": %d, \"prefill_tok_s\": %.3f, "
        "\"prefill_spread\": %.3f, \"decode_tok_s\": %.3f, \"decode_spread\": %.3f}\n",
        info.path.c_str(), info.device_description.c_str(), info.weight_bytes, prompt_tokens,
        generate_tokens, repetitions, pp_med, pp_spread, tg_med, tg_spread);
  } else {
    std::printf("model:   %s (%s, %.1f MiB of weights)\ndevice:  %s\n", info.path.c_str(),
                info.name.c_str(), info.weight_bytes / 1048576.0, info.device_description.c_str());
    std::printf("%-10s %10s %14s %12s\n", "test", "tokens", "tok/s (median)", "spread");
    if (!pp.empty())
      std::printf("%-10s %10d %14.2f %12.2f\n", "prefill", prompt_tokens, pp_med, pp_spread);
    if (!tg.empty())
      std::printf("%-10s %10d %14.2f %12.2f\n", "decode", generate_tokens, tg_med, tg_spread);
  }
  return 0;
}

}  // namespace hearth::cli
