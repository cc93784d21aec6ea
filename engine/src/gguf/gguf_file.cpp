#include "gguf/gguf_file.h"

#include <bit>
#include <cstring>
#include <limits>

#include "hearth/error.h"

namespace hearth::gguf {
size_t scalar_size(ValueType type) {
  switch (type) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::boolean:
      return 1;
    case ValueType::u16:
    case ValueType::i16:
      return 2;
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::f32:
      return 4;
    case ValueType::u64:
    case ValueType::i64:
    case ValueType::f64:
      return 8;
    default:
      return 0;
  }
}

namespace {

// Limits that no real model reaches; they stop a hostile header from making the reader
// allocate or loop without bound before the file length has proved the counts plausible.
constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxArrayDepth = 2;
// Strings per array: far above any vocabulary (Qwen2 has 152k tokens and 151k merges).
constexpr uint64_t kMaxObjectArray = uint64_t{1} << 24;

// Bounds-checked little-endian cursor over the file image. Every read names the field it is
// reading so a failure says what was being parsed and where.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(file_ + ": " + field + " (at byte " + std::to_string(offset_) + "): " + what);
  }

  template <typename T>
  T read(const std::string& field) {
    if (remaining() < sizeof(T)) fail(field, "file is truncated");
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  const std::byte* here() const { return bytes_.data() + offset_; }
  void skip(size_t n) { offset_ += n; }

  std::string_view read_string(const std::string& field) {
    uint64_t length = read<uint64_t>(field + " length");
    if (length > remaining()) {
      fail(field, "string length " + std::to_string(length) + " exceeds the " +
                      std::to_string(remaining()) + " bytes left in the file");
    }
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + offset_), length);
    offset_ += length;
    return s;
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& file_;
  size_t offset_ = 0;
};

Value read_value(Cursor& in, ValueType type, const std::string& field, uint64_t depth) {
  Value v;
  v.type = type;
  switch (type) {
    case ValueType::u8:
      v.data = uint64_t{in.read<uint8_t>(field)};
      break;
    case ValueType::u16:
      v.data = uint64_t{in.read<uint16_t>(field)};
      break;
    case ValueType::u32:
      v.data = uint64_t{in.read<uint32_t>(field)};
      break;
    case ValueType::u64:
      v.data = in.read<uint64_t>(field);
      break;
    case ValueType::i8:
      v.data = int64_t{in.read<int8_t>(field)};
      break;
    case ValueType::i16:
      v.data = int64_t{in.read<int16_t>(field)};
      break;
    case ValueType::i32:
      v.data = int64_t{in.read<int32_t>(field)};
      break;
    case ValueType::i64:
      v.data = in.read<int64_t>(field);
      break;
    case ValueType::f32:
      v.data = double{in.read<float>(field)};
      break;
    case ValueType::f64:
      v.data = in.read<double>(field);
      break;
    case ValueType::boolean: {
      uint8_t b = in.read<uint8_t>(field);
      if (b > 1) in.fail(field, "boolean value " + std::to_string(b) + " is not 0 or 1");
      v.data = b == 1;
      break;
    }
    case ValueType::string:
      v.data = in.read_string(field);
      break;
    case ValueType::array: {
      if (depth >= kMaxArrayDepth) in.fail(field, "arrays nested too deeply");
      uint32_t raw_element = in.read<uint32_t>(field + " element type");
      if (raw_element > static_cast<uint32_t>(ValueType::f64)) {
        in.fail(field, "unknown array element type " + std::to_string(raw_element));
      }
      auto element = static_cast<ValueType>(raw_element);
      uint64_t count = in.read<uint64_t>(field + " element count");
      size_t element_size = scalar_size(element);
      if (element_size > 0) {
        if (count > in.remaining() / element_size) {
          in.fail(field, "array of " + std::to_string(count) + " elements exceeds the " +
                             std::to_string(in.remaining()) + " bytes left in the file");
        }
        v.element_type = element;
        v.data = ScalarArray{in.here(), count};
        in.skip(count * element_size);
        break;
      }
      // Strings and arrays take at least eight bytes each, so a count larger than that
      // cannot be honest: refuse before reserving anything.
      if (count > in.remaining() / 8 || count > kMaxObjectArray) {
        in.fail(field, "array of " + std::to_string(count) + " strings or arrays is too large");
      }
      v.element_type = element;
      std::vector<Value> items;
      items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        items.push_back(read_value(in, element, field, depth + 1));
      }
      v.data = std::move(items);
      break;
    }
    default:
      in.fail(field, "unknown value type " + std::to_string(static_cast<uint32_t>(type)));
  }
  return v;
}

}  // namespace

uint64_t Value::array_size() const {
  if (auto* packed = std::get_if<ScalarArray>(&data)) return packed->count;
  if (auto* items = std::get_if<std::vector<Value>>(&data)) return items->size();
  return 0;
}

Value Value::scalar_at(uint64_t i) const {
  const auto& packed = std::get<ScalarArray>(data);
  const std::byte* p = packed.data + i * scalar_size(element_type);
  auto load = [p]<typename T>(T) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  };
  Value v;
  v.type = element_type;
  switch (element_type) {
    case ValueType::u8:
      v.data = uint64_t{load(uint8_t{})};
      break;
    case ValueType::u16:
      v.data = uint64_t{load(uint16_t{})};
      break;
    case ValueType::u32:
      v.data = uint64_t{load(uint32_t{})};
      break;
    case ValueType::u64:
      v.data = load(uint64_t{});
      break;
    case ValueType::i8:
      v.data = int64_t{load(int8_t{})};
      break;
    case ValueType::i16:
      v.data = int64_t{load(int16_t{})};
      break;
    case ValueType::i32:
      v.data = int64_t{load(int32_t{})};
      break;
    case ValueType::i64:
      v.data = load(int64_t{});
      break;
    case ValueType::f32:
      v.data = double{load(float{})};
      break;
    case ValueType::f64:
      v.data = load(double{});
      break;
    default:
      v.data = load(uint8_t{}) != 0;
      break;  // boolean
  }
  return v;
}

std::string_view value_type_name(ValueType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",  "u16",  "i16",    "u32",
                                                "i32", "f32", "bool", "string", "array",
                                                "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> file(new File());
  file->path_ = path;
  file->mapping_ = util::MappedFile(path);
  file->bytes_ = file->mapping_.bytes();
  file->parse_all();
  return file;
}

std::unique_ptr<File> File::parse(std::span<const std::byte> bytes, std::string name) {
  std::unique_ptr<File> file(new File());
  file->path_ = std::move(name);
  file->owned_.assign(bytes.begin(), bytes.end());
  file->bytes_ = file->owned_;
  file->parse_all();
  return file;
}

void File::parse_all() {
  Cursor in(bytes_, path_);
  if (bytes_.size() < 4 || std::memcmp(bytes_.data(), "GGUF", 4) != 0) {
    throw Error(path_ + ": not a GGUF file (bad magic)");
  }
  in.read<uint32_t>("magic");
  version_ = in.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    throw Error(path_ + ": unsupported GGUF version " + std::to_string(version_) +
                " (supported: 2, 3)");
  }
  uint64_t tensor_count = in.read<uint64_t>("tensor count");
  uint64_t kv_count = in.read<uint64_t>("metadata count");
  // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry at least
  // 8 + 4 + 8 + 4 + 8. Counts beyond that cannot fit in the file.
  if (kv_count > in.remaining() / 13) {
    in.fail("metadata count", std::to_string(kv_count) + " entries cannot fit in the file");
  }
  if (tensor_count > in.remaining() / 32) {
    in.fail("tensor count", std::to_string(tensor_count) + " entries cannot fit in the file");
  }

  metadata_.reserve(kv_count);
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string field = "metadata entry " + std::to_string(i);
    std::string key(in.read_string(field + " key"));
    if (key.empty()) in.fail(field, "empty key");
    if (metadata_index_.count(key)) in.fail("metadata key '" + key + "'", "duplicate key");
    uint32_t raw_type = in.read<uint32_t>("metadata '" + key + "' type");
    if (raw_type > static_cast<uint32_t>(ValueType::f64)) {
      in.fail("metadata '" + key + "'", "unknown value type " + std::to_string(raw_type));
    }
    Value value = read_value(in, static_cast<ValueType>(raw_type), "metadata '" + key + "'", 0);
    metadata_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (auto a = find("general.alignment")) {
    uint64_t alignment = 0;
    if (auto* u = std::get_if<uint64_t>(&a->data)) alignment = *u;
    if (alignment == 0 || !std::has_single_bit(alignment) || alignment > 65536) {
      throw Error(path_ + ": general.alignment must be a power of two up to 65536");
    }
    alignment_ = alignment;
  }

  tensors_.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    std::string field = "tensor " + std::to_string(i);
    TensorInfo t;
    t.name = std::string(in.read_string(field + " name"));
    if (t.name.empty()) in.fail(field, "empty tensor name");
    field = "tensor '" + t.name + "'";
    if (tensor_index_.count(t.name)) in.fail(field, "duplicate tensor name");
    uint32_t n_dims = in.read<uint32_t>(field + " dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.fail(field, "dimension count " + std::to_string(n_dims) + " is not in 1.." +
                         std::to_string(kMaxDims));
    }
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = in.read<uint64_t>(field + " dimension " + std::to_string(d));
      if (dim == 0 || dim > (uint64_t{1} << 40) ||
          static_cast<uint64_t>(elements) > (uint64_t{1} << 50) / dim) {
        in.fail(field, "dimension " + std::to_string(d) + " = " + std::to_string(dim) +
                           " is zero or too large");
      }
      t.dims.push_back(static_cast<int64_t>(dim));
      elements *= static_cast<int64_t>(dim);
    }
    t.element_count = elements;
    t.type_id = in.read<uint32_t>(field + " type");
    t.offset = in.read<uint64_t>(field + " offset");
    if (t.offset % alignment_ != 0) {
      in.fail(field, "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                         std::to_string(alignment_));
    }
    if (auto traits = tensor_type_traits(t.type_id)) {
      if (t.dims[0] % traits->block_values != 0) {
        in.fail(field, "first dimension " + std::to_string(t.dims[0]) +
                           " is not a multiple of the " + std::string(traits->name) +
                           " block size " + std::to_string(traits->block_values));
      }
      t.byte_size = static_cast<size_t>(elements / traits->block_values) * traits->block_bytes;
    } else if (t.type_id > 1000) {
      in.fail(field, "invalid tensor type id " + std::to_string(t.type_id));
    }
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  size_t header_end = in.offset();
  data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > bytes_.size() && !tensors_.empty()) {
    throw Error(path_ + ": file is truncated before the tensor data section (offset " +
                std::to_string(data_offset_) + ")");
  }
  for (auto& t : tensors_) {
    if (!tensor_type_traits(t.type_id)) continue;  // reported when used
    uint64_t available = bytes_.size() - data_offset_;
    if (t.offset > available || t.byte_size > available - t.offset) {
      throw Error(path_ + ": tensor '" + t.name + "' data [" + std::to_string(t.offset) + ", +" +
                  std::to_string(t.byte_size) + ") lies outside the file (data section holds " +
                  std::to_string(available) + " bytes): file is truncated or the offset is bad");
    }
    t.data = bytes_.data() + data_offset_ + t.offset;
  }
}

void File::release_pages(const TensorInfo& tensor) const {
  if (!tensor.data || owned_.size()) return;
  mapping_.release_pages(static_cast<size_t>(tensor.data - bytes_.data()), tensor.byte_size);
}

const Value* File::find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::require_supported(const File& file, const TensorInfo& tensor) {
  if (!tensor_type_traits(tensor.type_id)) {
    throw Error(file.path() + ": tensor '" + tensor.name + "' has unsupported tensor type " +
                tensor_type_name(tensor.type_id) + " (supported: f32, f16, bf16, q8_0, q4_0)");
  }
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const Value& v,
                             std::string_view wanted) {
  throw Error(path + ": metadata '" + std::string(key) + "' has type " +
              std::string(value_type_name(v.type)) + ", expected " + std::string(wanted));
}

}  // namespace

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* s = std::get_if<std::string_view>(&v->data)) return std::string(*s);
  wrong_type(path_, key, *v, "string");
}

std::optional<uint64_t> File::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* u = std::get_if<uint64_t>(&v->data)) return *u;
  if (auto* i = std::get_if<int64_t>(&v->data); i && *i >= 0) return static_cast<uint64_t>(*i);
  wrong_type(path_, key, *v, "a non-negative integer");
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* d = std::get_if<double>(&v->data)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v->data)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v->data)) return static_cast<double>(*i);
  wrong_type(path_, key, *v, "a number");
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v->data)) return *b;
  wrong_type(path_, key, *v, "bool");
}

std::optional<std::vector<std::string>> File::get_string_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  auto* items = std::get_if<std::vector<Value>>(&v->data);
  if (!items || v->element_type != ValueType::string) wrong_type(path_, key, *v, "array of string");
  std::vector<std::string> out;
  out.reserve(items->size());
  for (const auto& item : *items) out.emplace_back(std::get<std::string_view>(item.data));
  return out;
}

std::optional<std::vector<float>> File::get_float_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!std::holds_alternative<ScalarArray>(v->data) ||
      (v->element_type != ValueType::f32 && v->element_type != ValueType::f64)) {
    wrong_type(path_, key, *v, "array of f32");
  }
  std::vector<float> out(v->array_size());
  for (uint64_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<float>(std::get<double>(v->scalar_at(i).data));
  }
  return out;
}

std::optional<std::vector<int64_t>> File::get_int_array(std::string_view key) const {
  const Value* v = find(key);
  if (!v) return std::nullopt;
  if (!std::holds_alternative<ScalarArray>(v->data)) {
    wrong_type(path_, key, *v, "array of integers");
  }
  std::vector<int64_t> out;
  out.reserve(v->array_size());
  for (uint64_t n = 0; n < v->array_size(); ++n) {
    Value item = v->scalar_at(n);
    if (auto* i = std::get_if<int64_t>(&item.data)) {
      out.push_back(*i);
    } else if (auto* u = std::get_if<uint64_t>(&item.data);
               u && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.push_back(static_cast<int64_t>(*u));
    } else {
      wrong_type(path_, key, *v, "array of integers");
    }
  }
  return out;
}

}  // namespace hearth::gguf
