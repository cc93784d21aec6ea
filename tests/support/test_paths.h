// Locations of the project's fixtures, fixed at configure time.
#pragma once

#include <string>

namespace hearth::test {

inline std::string source_path(const std::string& relative) {
  return std::string(HEARTH_SOURCE_DIR) + "/" + relative;
}
inline std::string binary_path(const std::string& relative) {
  return std::string(HEARTH_BINARY_DIR) + "/" + relative;
}
inline std::string model_path() { return source_path("examples/models/stories260K.gguf"); }
inline std::string mha_model_path() { return source_path("examples/models/stories260K-mha.gguf"); }

}  // namespace hearth::test
