#include "hearth/model_file.h"

#include <cstdio>

#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "hearth/text.h"
#include "model/model_config.h"

namespace hearth {
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
    std::string text = printable(s->substr(0, 60));
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

ModelFileInfo inspect_model_file(const std::string& path) {
  auto file = gguf::File::open(path);
  ModelFileInfo info;
  info.path = file->path();
  info.gguf_version = file->version();
  info.file_size = file->file_size();
  info.alignment = file->alignment();
  info.data_offset = file->data_offset();
  for (const auto& [key, value] : file->metadata()) info.metadata.push_back({key, describe(value)});
  for (const auto& t : file->tensors())
    info.tensors.push_back({t.name, t.type_id, t.dims, t.byte_size});
  try {
    info.model = static_cast<const ModelShape&>(read_model_config(*file));
  } catch (const Error& e) {
    info.model_error = e.what();
  }
  return info;
}

}  // namespace hearth
