// hearth perplexity: a model's perplexity on a text, by llama-perplexity's method (see
// hearth/perplexity.h), so the figure can be set beside llama.cpp's on the same file and text.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/perplexity.h"
#include "hearth/settings.h"
#include "hearth/text.h"

namespace hearth::cli {

int perplexity_command(int argc, char** argv) {
  EngineOptions engine_options;
  engine_options.max_batch_tokens = 512;
  PromptOptions text_options;
  PerplexityOptions options;
  int32_t chunks = -1;
  bool json = false;
  ArgParser parser("hearth perplexity -m MODEL -f TEXT [-c N] [-b N] [--chunks N] [--json]",
                   "Perplexity of the model on a text, measured as llama.cpp's llama-perplexity "
                   "does: chunks of -c tokens (default 512), each from an empty cache with BOS "
                   "first, the second half of each scored. The running value after each chunk "
                   "and the final estimate go to stdout.");
  parser.option({"-m", "--model"}, "FILE", "model file (GGUF)", &engine_options.model_path);
  parser.option({"-f", "--file"}, "FILE", "the text", &text_options.file);
  parser.option({"-c", "--ctx-size"}, "N", "tokens per chunk (default 512)", &options.context,
                settings::context_size);
  parser.option({"-b", "--batch-size"}, "N", "tokens per forward pass (default 512)",
                &options.batch, settings::batch_size);
  parser.option({"--chunks"}, "N", "score at most N chunks (default: all)", &chunks);
  parser.option({"-t", "--threads"}, "N", "worker threads, 0 = physical cores",
                &engine_options.threads, settings::threads);
  parser.option({"--kv-type"}, "TYPE", "KV cache elements: f16 (default) or f32",
                &engine_options.kv_cache_type, settings::kv_cache_types);
  std::string kv_heads;
  add_retrofit_option(parser, kv_heads);
  parser.flag({"--json"}, "print one JSON object instead", &json);
  if (!parser.parse(argc, argv)) return 0;
  if (engine_options.model_path.empty()) throw Error("no model: give -m MODEL");
  if (text_options.file.empty()) throw Error("no text: give -f FILE");
  if (parser.given("--chunks") && chunks < 1) throw Error("option --chunks must be at least 1");
  options.max_chunks = chunks;
  const std::string text =
      read_text_file(text_options.file, "text file (-f)", settings::max_prompt_file_bytes);
  apply_retrofit(kv_heads, engine_options);
  engine_options.context_size = options.context;
  engine_options.max_batch_tokens = options.batch;
  auto engine = Engine::load(engine_options);
  std::fprintf(stderr,
               "hearth perplexity: %s, chunks of %d tokens (the last %d of each scored), batch "
               "%d, BOS first: %s\n",
               printable(text_options.file).c_str(), options.context,
               options.context - 1 - options.context / 2, options.batch,
               engine->bos_token() >= 0 ? "yes" : "no (the vocabulary has none)");
  if (!json) {
    options.on_chunk = [](int32_t chunk, int32_t, double running) {
      std::printf("[%d]%.4f,", chunk + 1, running);
      std::fflush(stdout);
    };
  }
  const PerplexityResult r = measure_perplexity(*engine, text, options);
  if (json) {
    std::printf(
        "{\"perplexity\": %.6f, \"error\": %.6f, \"mean_nll\": %.8f, \"chunks\": %d, "
        "\"context\": %d, \"batch\": %d, \"scored_tokens\": %lld, \"text_tokens\": %lld, "
        "\"seconds\": %.3f}\n",
        r.perplexity, r.error, r.mean_nll, r.chunks, options.context, options.batch,
        static_cast<long long>(r.scored_tokens), static_cast<long long>(r.text_tokens), r.seconds);
  } else {
    std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r.perplexity, r.error);
    std::fprintf(stderr, "hearth perplexity: %d chunks, %lld tokens scored of %lld, %.2f s\n",
                 r.chunks, static_cast<long long>(r.scored_tokens),
                 static_cast<long long>(r.text_tokens), r.seconds);
  }
  return 0;
}

}  // namespace hearth::cli
