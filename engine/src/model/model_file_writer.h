// Writes a model file: the source GGUF with the tensors attention plugins replaced (stored as
// store_like() keeps them) and the metadata that describes their new shape, so a converted
// model loads without the plugin.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "gguf/gguf_file.h"
#include "model/stored_weight.h"
#include "model/weight_overrides.h"

namespace hearth {

struct MetadataChanges {
  std::map<std::string, uint32_t> uints;       // replace (or add) as u32
  std::map<std::string, std::string> strings;  // replace (or add) as strings
};

// Writes `source` with `replaced` and `changes` to `path` (GGUF version 3, the source's
// alignment), through a temporary file renamed into place. Throws hearth::Error naming the path.
void write_model_file(const gguf::File& source, const WeightOverrides& replaced,
                      const MetadataChanges& changes, const std::string& path);

// The same with tensors of the same shape stored in another type (`hearth quantize`).
void write_model_file(const gguf::File& source, const std::map<std::string, StoredWeight>& retyped,
                      const MetadataChanges& changes, const std::string& path);

}  // namespace hearth
