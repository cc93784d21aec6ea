#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/error.h"
#include "hearth/model_file.h"
#include "hearth/tensor_type.h"
#include "hearth/text.h"

namespace hearth::cli {

int info_command(int argc, char** argv) {
  std::vector<std::string> paths;
  ArgParser parser("hearth info MODEL", "Prints a GGUF file's metadata and tensor table.");
  parser.positional("MODEL", &paths, 1);
  if (!parser.parse(argc, argv)) return 0;
  if (paths.empty()) throw Error("no model file given (see --help)");
  const ModelFileInfo file = inspect_model_file(paths[0]);
  std::printf("file: %s\nformat: GGUF v%u, %zu bytes, alignment %zu, data at %zu\n",
              printable(file.path).c_str(), file.gguf_version, file.file_size, file.alignment,
              file.data_offset);
  std::printf("\nmetadata (%zu):\n", file.metadata.size());
  for (const auto& [key, value] : file.metadata) {
    std::printf("  %-44s %s\n", printable(key).c_str(), value.c_str());
  }
  std::printf("\ntensors (%zu):\n", file.tensors.size());
  size_t unsupported = 0;
  for (const auto& t : file.tensors) {
    std::string shape;
    for (size_t i = 0; i < t.shape.size(); ++i)
      shape += (i ? " x " : "") + std::to_string(t.shape[i]);
    bool ok = tensor_type_traits(t.type_id).has_value();
    unsupported += !ok;
    std::printf("  %-36s %-8s %-20s %12zu bytes%s\n", printable(t.name).c_str(),
                tensor_type_name(t.type_id).c_str(), shape.c_str(), t.bytes,
                ok ? "" : "  (unsupported type)");
  }
  if (file.tensors.empty()) {
    std::printf("\n(no tensors: a vocabulary-only file)\n");
    return 0;
  }
  if (!file.model) throw Error(file.model_error);
  const ModelShape& model = *file.model;
  std::printf(
      "\nmodel: %s (%s), %d layers, dim %d, %d heads, %d kv heads, head size %d, "
      "ffn %d, vocab %d, trained context %d\n",
      printable(model.name).c_str(), printable(model.architecture).c_str(), model.layers, model.dim,
      model.heads, model.kv_heads, model.head_dim, model.ffn_dim, model.vocab_size,
      model.context_train);
  if (unsupported > 0) {
    throw Error(file.path + ": " + std::to_string(unsupported) +
                " tensors have an unsupported type (supported: f32, f16, bf16, q8_0, q4_0)");
  }
  return 0;
}

}  // namespace hearth::cli
