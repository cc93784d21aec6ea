// `hearth bench --parallel`: aggregate throughput of concurrent streams through the scheduler,
// measured the way llama-batched-bench does: every stream's prompt is prefilled in one pass,
// then all streams decode together; decode tok/s counts the tokens of every stream.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/engine.h"

namespace hearth::cli {

struct ParallelRun {
  int32_t streams = 0;
  double prefill_tok_s = 0;     // all prompts' tokens / time to the last first token
  double decode_tok_s = 0;      // all streams' decoded tokens / decode time (the aggregate)
  double ttft_max_seconds = 0;  // the slowest stream's time to first token
};

// One measured run: `streams` requests of `prompt` random tokens, each generating `generate`
// tokens greedily (end of generation ignored), submitted at once.
ParallelRun run_parallel(Engine& engine, int32_t streams, int32_t prompt, int32_t generate,
                         uint32_t seed);

}  // namespace hearth::cli
