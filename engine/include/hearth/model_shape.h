// hearth: the shape of a model, the one description that the file inspector, the loaded
// engine (ModelInfo) and the engine's own configuration all share.
#pragma once

#include <cstdint>
#include <string>

namespace hearth {

struct ModelShape {
  std::string architecture, name;
  int32_t vocab_size = 0, layers = 0, dim = 0, heads = 0, head_dim = 0, ffn_dim = 0,
          context_train = 0;
  // KV heads of the first layer: as the file declares them for a file, as they run (after
  // any attention plugin) for a loaded model.
  int32_t kv_heads = 0;
};

}  // namespace hearth
