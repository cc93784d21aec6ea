#include "model/model_file_writer.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <variant>
#include <vector>

#include "hearth/error.h"
#include "model/stored_weight.h"

namespace hearth {
namespace {

using gguf::ScalarArray;
using gguf::Value;
using gguf::ValueType;

class Out {
 public:
  explicit Out(std::ofstream& file) : file_(file) {}
  template <typename T>
  void put(T value) {
    file_.write(reinterpret_cast<const char*>(&value), sizeof value);
    written_ += sizeof value;
  }
  void bytes(const void* data, size_t size) {
    file_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    written_ += size;
  }
  void string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(size_t alignment) {
    static const char zeros[64] = {};
    while (written_ % alignment != 0) {
      const size_t n = std::min(sizeof zeros, alignment - written_ % alignment);
      bytes(zeros, n);
    }
  }
  size_t written() const { return written_; }

 private:
  std::ofstream& file_;
  size_t written_ = 0;
};

// A value exactly as the reader parsed it: the same type and width.
void put_value(Out& out, const Value& v) {
  switch (v.type) {
    case ValueType::u8:
      return out.put(static_cast<uint8_t>(std::get<uint64_t>(v.data)));
    case ValueType::u16:
      return out.put(static_cast<uint16_t>(std::get<uint64_t>(v.data)));
    case ValueType::u32:
      return out.put(static_cast<uint32_t>(std::get<uint64_t>(v.data)));
    case ValueType::u64:
      return out.put(std::get<uint64_t>(v.data));
    case ValueType::i8:
      return out.put(static_cast<int8_t>(std::get<int64_t>(v.data)));
    case ValueType::i16:
      return out.put(static_cast<int16_t>(std::get<int64_t>(v.data)));
    case ValueType::i32:
      return out.put(static_cast<int32_t>(std::get<int64_t>(v.data)));
    case ValueType::i64:
      return out.put(std::get<int64_t>(v.data));
    case ValueType::f32:
      return out.put(static_cast<float>(std::get<double>(v.data)));
    case ValueType::f64:
      return out.put(std::get<double>(v.data));
    case ValueType::boolean:
      return out.put(static_cast<uint8_t>(std::get<bool>(v.data) ? 1 : 0));
    case ValueType::string:
      return out.string(std::get<std::string_view>(v.data));
    case ValueType::array: {
      out.put(static_cast<uint32_t>(v.element_type));
      out.put<uint64_t>(v.array_size());
      if (const auto* packed = std::get_if<ScalarArray>(&v.data)) {
        // Scalars stay packed as they were read (little-endian, the element's width).
        return out.bytes(packed->data, packed->count * gguf::scalar_size(v.element_type));
      }
      for (const Value& element : std::get<std::vector<Value>>(v.data)) put_value(out, element);
      return;
    }
  }
}

}  // namespace

namespace {

// Every tensor's bytes as they will be written: the file's, or a replacement's.
struct OutTensor {
  const gguf::TensorInfo* info;
  TensorType type;
  std::vector<int64_t> dims;
  const void* data;
  size_t size;
};

void write_tensors(const gguf::File& source, const std::vector<OutTensor>& tensors,
                   const MetadataChanges& changes, const std::string& path);

}  // namespace

void write_model_file(const gguf::File& source, const WeightOverrides& replaced,
                      const MetadataChanges& changes, const std::string& path) {
  std::vector<StoredWeight> stored;  // owns the replacements' bytes
  stored.reserve(source.tensors().size());
  std::vector<OutTensor> tensors;
  for (const gguf::TensorInfo& t : source.tensors()) {
    OutTensor out{&t, t.type(), t.dims, t.data, t.byte_size};
    if (const ReplacedTensor* r = replaced.find(t.name)) {
      stored.push_back(store_like(&t, *r));
      out.type = stored.back().type;
      out.dims = t.dims.size() == 1 ? std::vector<int64_t>{r->rows * r->cols}
                                    : std::vector<int64_t>{r->cols, r->rows};
      out.data = stored.back().bytes.data();
      out.size = stored.back().bytes.size();
    }
    tensors.push_back(out);
  }
  write_tensors(source, tensors, changes, path);
}

void write_model_file(const gguf::File& source, const std::map<std::string, StoredWeight>& retyped,
                      const MetadataChanges& changes, const std::string& path) {
  std::vector<OutTensor> tensors;
  for (const gguf::TensorInfo& t : source.tensors()) {
    OutTensor out{&t, t.type(), t.dims, t.data, t.byte_size};
    if (auto it = retyped.find(t.name); it != retyped.end()) {
      out.type = it->second.type;
      out.data = it->second.bytes.data();
      out.size = it->second.bytes.size();
    }
    tensors.push_back(out);
  }
  write_tensors(source, tensors, changes, path);
}

namespace {

void write_tensors(const gguf::File& source, const std::vector<OutTensor>& tensors,
                   const MetadataChanges& changes, const std::string& path) {
  std::vector<std::pair<std::string, Value>> metadata = source.metadata();
  auto set = [&](const std::string& key, Value value) {
    for (auto& [k, v] : metadata) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    metadata.emplace_back(key, std::move(value));
  };
  for (const auto& [key, number] : changes.uints) {
    Value v;
    v.type = ValueType::u32;
    v.data = uint64_t{number};
    set(key, v);
  }
  for (const auto& [key, text] : changes.strings) {
    Value v;
    v.type = ValueType::string;
    v.data = std::string_view(text);  // `changes` outlives the writing
    set(key, v);
  }

  const size_t alignment = source.alignment();
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(path + ": cannot write the model file", ErrorCode::failed);
    Out out(file);
    out.bytes("GGUF", 4);
    out.put<uint32_t>(3);
    out.put<uint64_t>(tensors.size());
    out.put<uint64_t>(metadata.size());
    for (const auto& [key, value] : metadata) {
      out.string(key);
      out.put(static_cast<uint32_t>(value.type));
      put_value(out, value);
    }
    uint64_t offset = 0;
    for (const OutTensor& t : tensors) {
      out.string(t.info->name);
      out.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
      for (int64_t d : t.dims) out.put<uint64_t>(static_cast<uint64_t>(d));
      out.put(static_cast<uint32_t>(t.type));
      out.put<uint64_t>(offset);
      offset += (t.size + alignment - 1) / alignment * alignment;
    }
    out.pad_to(alignment);
    for (const OutTensor& t : tensors) {
      out.bytes(t.data, t.size);
      out.pad_to(alignment);
    }
    if (!file.flush()) {
      std::remove(temporary.c_str());
      throw Error(path + ": writing the model file failed", ErrorCode::failed);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    throw Error(path + ": cannot move the model file into place: " + ec.message(),
                ErrorCode::failed);
  }
}

}  // namespace

}  // namespace hearth
