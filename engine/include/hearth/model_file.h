// hearth: a look at a model file without loading its weights — its format, metadata, tensor
// table and the shape of the model it holds, read from the header alone (the tensor data is
// mapped but never read). For tools that describe a file or size a run before loading it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/model_shape.h"

namespace hearth {

struct ModelFileMetadata {
  std::string key;    // as stored in the file: show it through printable() (hearth/text.h)
  std::string value;  // rendered for display and safe to print: strings quoted, escaped and
                      // cut at 60 bytes; arrays as "[type x count]" and their first 4 elements
};

struct ModelFileTensor {
  std::string name;
  uint32_t type_id = 0;        // GGUF type id: see tensor_type_name(), tensor_type_traits()
  std::vector<int64_t> shape;  // shape[0] is the contiguous (innermost) dimension
  size_t bytes = 0;
};

struct ModelFileInfo {
  std::string path;
  uint32_t gguf_version = 0;
  size_t file_size = 0, alignment = 0, data_offset = 0;
  std::vector<ModelFileMetadata> metadata;  // in file order
  std::vector<ModelFileTensor> tensors;     // in file order; empty in a vocabulary-only file
  // The model the metadata describes, as the engine would load it. Absent when the metadata does
  // not describe a model hearth runs; then `model_error` says why (naming the file and the key), as
  // loading the file would.
  std::optional<ModelShape> model;
  std::string model_error;
};

// Throws hearth::Error naming the file and the field when the file is not a well-formed GGUF
// file; a well-formed file whose model hearth cannot run is described all the same.
ModelFileInfo inspect_model_file(const std::string& path);

}  // namespace hearth
