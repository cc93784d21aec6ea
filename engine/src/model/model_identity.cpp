#include "model/model_identity.h"

#include <algorithm>
#include <cstdio>

#include "util/checksum.h"

namespace hearth {

std::string model_identity(const gguf::File& file, const ModelConfig& c,
                           const WeightOverrides& overrides) {
  util::Fnv1a h;
  h.update(c.architecture.data(), c.architecture.size());
  for (int32_t v : {c.vocab_size, c.dim, c.layers, c.heads, c.head_dim, c.ffn_dim, c.rope_dims}) {
    h.update_value(v);
  }
  h.update_value(c.rope_theta);
  h.update_value(c.rope_position_scale);
  h.update_value(c.sliding_window);
  for (float factor : c.rope_freq_factors) h.update_value(factor);
  for (int32_t heads : c.layer_kv_heads) h.update_value(heads);
  for (const auto& t : file.tensors()) {
    h.update(t.name.data(), t.name.size());
    h.update_value(t.type_id);
    for (int64_t d : t.dims) h.update_value(d);
    // A sample of the bytes tells fine-tunes of one architecture apart without reading
    // gigabytes at every load.
    if (t.data) h.update(t.data, std::min<size_t>(t.byte_size, 256));
    if (const ReplacedTensor* r = overrides.find(t.name)) {
      h.update(r->values.data(), std::min<size_t>(r->values.size(), 64) * sizeof(float));
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.digest()));
  return hex;
}

}  // namespace hearth
