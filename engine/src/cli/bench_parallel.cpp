#include "cli/bench_parallel.h"

#include <algorithm>
#include <random>

namespace hearth::cli {

ParallelRun run_parallel(Engine& engine, int32_t streams, int32_t prompt, int32_t generate,
                         uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, engine.model_info().vocab_size - 1);
  GenerationOptions options;
  options.max_tokens = generate;
  options.ignore_eos = true;
  options.sampling.temperature = 0;
  options.strategy = "sampling";
  std::vector<Request> requests;
  for (int32_t s = 0; s < streams; ++s) {
    std::vector<int32_t> tokens(prompt);
    for (auto& t : tokens) t = pick(rng);  // speed does not depend on which tokens are fed
    requests.push_back(engine.submit_tokens(std::move(tokens), options));
  }
  // Times relative to each request's submission; all were submitted within microseconds.
  double last_first_token = 0, last_end = 0;
  int64_t decoded = 0;
  for (auto& request : requests) {
    const GenerationStats stats = request.wait().stats;
    const double first = stats.queue_seconds + stats.prompt_seconds;
    last_first_token = std::max(last_first_token, first);
    last_end = std::max(last_end, first + stats.generate_seconds);
    decoded += std::max(0, stats.generated_tokens - 1);  // the first comes from the prefill
  }
  ParallelRun run;
  run.streams = streams;
  run.ttft_max_seconds = last_first_token;
  if (last_first_token > 0) run.prefill_tok_s = double(streams) * prompt / last_first_token;
  if (last_end > last_first_token) run.decode_tok_s = decoded / (last_end - last_first_token);
  return run;
}

}  // namespace hearth::cli
