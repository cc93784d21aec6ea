// hearth: perplexity of a model on a text, measured the way llama.cpp's llama-perplexity
// measures it, so the two can be compared on the same file and text: the text's tokens (BOS
// first when the vocabulary wants one) are cut into chunks of `context` tokens, whatever is
// left over dropped; each chunk is evaluated from an empty cache with its first token replaced
// by BOS, and only its second half is scored: the predictions at positions context/2 to
// context-2, of the token that follows each (context - 1 - context/2 per chunk).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "hearth/engine.h"

namespace hearth {

struct PerplexityOptions {
  int32_t context = 512;    // tokens per chunk (at most the engine's context)
  int32_t batch = 512;      // tokens per forward pass
  int32_t max_chunks = -1;  // -1: every whole chunk of the text
  // After each chunk: its 0-based index, the chunks in all, and the running perplexity.
  std::function<void(int32_t chunk, int32_t chunks, double running)> on_chunk;
};

struct PerplexityResult {
  double perplexity = 0;  // exp(mean negative log-likelihood)
  double error = 0;       // its standard error, as llama-perplexity reports it
  double mean_nll = 0;
  int32_t chunks = 0;
  int64_t scored_tokens = 0;
  int64_t text_tokens = 0;
  std::vector<double> running;  // the running perplexity after each chunk
  double seconds = 0;
};

// Throws hearth::Error naming the setting when the text has fewer than two chunks of tokens,
// or the context or batch is out of range.
PerplexityResult measure_perplexity(Engine& engine, std::string_view text,
                                    const PerplexityOptions& options);

}  // namespace hearth
