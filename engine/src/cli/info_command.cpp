#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "model/model_config.h"
#include "util/printable.h"

namespace hearth::cli {
namespace {

std::string describe(const gguf::Value& v) {
  if (auto* u = std::get_if<uint64_t>(&v.data)) return std::to_string(*u);
  if (auto* i = std::get_if<int64_t>(&v.data)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v.data)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", *d);
    return buf;
  }
  if (auto* b = std::get_if<bool>(&v.data)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string_view>(&v.data)) {
    std::string text = util::printable(s->substr(0, 60));
    return "\"" + text + (s->size() > 60 ? "...\"" : "\"");
  }
  std::string out = "[" + std::string(gguf::value_type_name(v.element_type)) + " x " +
                    std::to_string(v.array_size()) + "]";
  for (uint64_t i = 0; i < v.array_size() && i < 4; ++i) {
    out += (i ? ", " : " ");
    if (auto* items = std::get_if<std::vector<gguf::Value>>(&v.data)) {
      out += describe((*items)[i]);
    } else {
      out += describe(v.scalar_at(i));
    }
  }
  return out + (v.array_size() > 4 ? ", ..." : "");
}

}  // namespace

int info_command(int argc, char** argv) {
  std::vector<std::string> paths;
  ArgParser parser("hearth info MODEL", "Prints a GGUF file's metadata and tensor table.");
  parser.positional("MODEL", &paths, 1);
  if (!parser.parse(argc, argv)) return 0;
  if (paths.empty()) throw Error("no model file given (see --help)");
  auto file = gguf::File::open(paths[0]);
  std::printf("file: %s\nformat: GGUF v%u, %zu bytes, alignment %zu, data at %zu\n",
              util::printable(file->path()).c_str(), file->version(), file->file_size(),
              file->alignment(), file->data_offset());
  std::printf("\nmetadata (%zu):\n", file->metadata().size());
  for (const auto& [key, value] : file->metadata()) {
    std::printf("  %-44s %s\n", util::printable(key).c_str(), describe(value).c_str());
  }
  std::printf("\ntensors (%zu):\n", file->tensors().size());
  size_t unsupported = 0;
  for (const auto& t : file->tensors()) {
    std::string shape;
    for (size_t i = 0; i < t.dims.size(); ++i)
      shape += (i ? " x " : "") + std::to_string(t.dims[i]);
    bool ok = tensor_type_traits(t.type_id).has_value();
    unsupported += !ok;
    std::printf("  %-36s %-8s %-20s %12zu bytes%s\n", util::printable(t.name).c_str(),
                tensor_type_name(t.type_id).c_str(), shape.c_str(), t.byte_size,
                ok ? "" : "  (unsupported type)");
  }
  if (file->tensors().empty()) {
    std::printf("\n(no tensors: a vocabulary-only file)\n");
    return 0;
  }
  ModelConfig config = read_model_config(*file);
  std::printf(
      "\nmodel: %s (%s), %d layers, dim %d, %d heads, %d kv heads, head size %d, "
      "ffn %d, vocab %d, trained context %d\n",
      util::printable(config.name).c_str(), util::printable(config.architecture).c_str(),
      config.layers, config.dim, config.heads, config.layer_kv_heads.front(), config.head_dim,
      config.ffn_dim, config.vocab_size, config.context_train);
  if (unsupported > 0) {
    throw Error(file->path() + ": " + std::to_string(unsupported) +
                " tensors have an unsupported type (supported: f32, f16, bf16, q8_0, q4_0)");
  }
  return 0;
}

}  // namespace hearth::cli
