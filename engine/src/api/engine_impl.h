// What an Engine owns, in the order it is built and torn down.
#pragma once

#include <memory>

#include "backend.h"
#include "gguf/gguf_file.h"
#include "hearth/engine.h"
#include "kv_cache/kv_cache.h"
#include "model/llama_weights.h"
#include "model/model_config.h"
#include "runtime/forward_pass.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

struct Engine::Impl {
  EngineOptions options;
  std::unique_ptr<gguf::File> file;
  ModelConfig config;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<backend::Backend> backend;
  LlamaWeights weights;
  std::unique_ptr<KvCache> cache;
  std::unique_ptr<ForwardPass> forward;
  ModelInfo info;
  double load_seconds = 0;
};

// Creates the backend named by options.device ("cpu").
std::unique_ptr<backend::Backend> create_backend(const EngineOptions& options);

}  // namespace hearth
