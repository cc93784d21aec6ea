#include "hearth/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "hearth/error.h"

namespace hearth {
namespace {

// -log p(token) from one row of logits: the sum of exponentials in double, as the figures it
// is compared with are computed.
double negative_log_likelihood(const float* logits, int32_t vocab, int32_t token) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int32_t i = 0; i < vocab; ++i) sum += std::exp(logits[i] - max);
  return -(logits[token] - max - std::log(sum));
}

}  // namespace

PerplexityResult measure_perplexity(Engine& engine, std::string_view text,
                                    const PerplexityOptions& options) {
  const int32_t n = options.context;
  const int32_t engine_context = engine.model_info().context_size;
  if (n < 4 || n > engine_context) {
    throw Error("perplexity: a context of " + std::to_string(n) +
                " tokens per chunk is out of range (4.." + std::to_string(engine_context) +
                ", the engine's context)");
  }
  if (options.batch < 1) throw Error("perplexity: the batch must hold at least one token");
  const auto started = std::chrono::steady_clock::now();
  const std::vector<int32_t> tokens = engine.tokenize(text, true, false);
  PerplexityResult result;
  result.text_tokens = static_cast<int64_t>(tokens.size());
  if (tokens.size() < 2 * size_t(n)) {
    throw Error("perplexity: the text is " + std::to_string(tokens.size()) +
                " tokens; a context of " + std::to_string(n) + " needs at least " +
                std::to_string(2 * n) + " (two chunks)");
  }
  int32_t chunks = static_cast<int32_t>(tokens.size() / size_t(n));
  if (options.max_chunks >= 0) chunks = std::min(chunks, options.max_chunks);
  const int32_t bos = engine.bos_token();
  const int32_t vocab = engine.model_info().vocab_size;
  const int32_t first = n / 2;
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  std::vector<BatchToken> batch;
  std::vector<float> logits;
  for (int32_t c = 0; c < chunks; ++c) {
    const int32_t* chunk = tokens.data() + size_t(c) * n;
    const SequenceId sequence = engine.create_sequence();
    try {
      for (int32_t begin = 0; begin < n; begin += options.batch) {
        const int32_t end = std::min(n, begin + options.batch);
        batch.clear();
        for (int32_t j = begin; j < end; ++j) {
          const int32_t token = j == 0 && bos >= 0 ? bos : chunk[j];
          // The scored predictions: positions first .. n-2, each of the token after it.
          batch.push_back({token, j, sequence, j >= first && j < n - 1});
        }
        engine.decode(batch, logits);
        size_t row = 0;
        for (int32_t j = begin; j < end; ++j) {
          if (j < first || j >= n - 1) continue;
          const double v =
              negative_log_likelihood(logits.data() + row * vocab, vocab, chunk[j + 1]);
          ++row;
          nll += v;
          nll2 += v * v;
          ++count;
        }
      }
    } catch (...) {
      engine.drop_sequence(sequence);
      throw;
    }
    engine.drop_sequence(sequence);
    result.running.push_back(std::exp(nll / double(count)));
    if (options.on_chunk) options.on_chunk(c, chunks, result.running.back());
  }
  result.chunks = chunks;
  result.scored_tokens = count;
  result.mean_nll = nll / double(count);
  result.perplexity = std::exp(result.mean_nll);
  const double variance = nll2 / double(count) - result.mean_nll * result.mean_nll;
  result.error =
      variance > 0 && count > 1 ? std::sqrt(variance / double(count - 1)) * result.perplexity : 0;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hearth
