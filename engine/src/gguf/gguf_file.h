// GGUF reader: maps a model file read-only and exposes its metadata and tensors after
// validating every count, offset, size, alignment and string against the file's length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hearth/tensor_type.h"
#include "util/mapped_file.h"

namespace hearth::gguf {

enum class ValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

std::string_view value_type_name(ValueType type);
// Bytes of one scalar of `type`; 0 for strings and arrays.
size_t scalar_size(ValueType type);

// An array of numbers or booleans, left packed in the file (little-endian): a vocabulary's
// scores or token types are read on request instead of becoming one object per element.
struct ScalarArray {
  const std::byte* data = nullptr;
  uint64_t count = 0;
};

// A metadata value. Arrays keep their element type; strings are views into the file image
// (valid while the File lives).
struct Value {
  ValueType type = ValueType::u8;
  ValueType element_type = ValueType::u8;  // arrays only
  std::variant<uint64_t, int64_t, double, bool, std::string_view, std::vector<struct Value>,
               ScalarArray>
      data;

  // Number of elements of an array value (0 for scalars).
  uint64_t array_size() const;
  // Element i of a scalar array, as a scalar Value.
  Value scalar_at(uint64_t i) const;
};

struct TensorInfo {
  std::string name;
  uint32_t type_id = 0;       // raw GGUF type id
  std::vector<int64_t> dims;  // dims[0] is the contiguous (innermost) dimension
  uint64_t offset = 0;        // relative to the data section
  int64_t element_count = 0;
  size_t byte_size = 0;
  const std::byte* data = nullptr;  // inside the mapping
  TensorType type() const { return static_cast<TensorType>(type_id); }
};

class File {
 public:
  // Throws hearth::Error naming the file and the field on any malformed or hostile input.
  // Tensors of unsupported types are listed; using one is an error (see require_supported).
  static std::unique_ptr<File> open(const std::string& path);
  // Parses a copy of an in-memory image (tests, the fuzz target); `name` appears in errors.
  static std::unique_ptr<File> parse(std::span<const std::byte> bytes, std::string name);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t file_size() const { return bytes_.size(); }
  size_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;

  // Typed getters: nullopt when absent; hearth::Error when present with another type.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;  // any unsigned/signed >= 0 int
  std::optional<double> get_float(std::string_view key) const;   // f32/f64 (or integer)
  std::optional<bool> get_bool(std::string_view key) const;
  // Arrays: error when present but not an array of the right element kind.
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<float>> get_float_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Lets the OS drop a tensor's mapped data from this process (see
  // MappedFile::release_pages); its pointer stays valid and faults pages back in when read.
  void release_pages(const TensorInfo& tensor) const;
  const TensorInfo* find_tensor(std::string_view name) const;
  // Throws "unsupported tensor type" naming the tensor and the type.
  static void require_supported(const File& file, const TensorInfo& tensor);

 private:
  File() = default;
  void parse_all();

  std::string path_;
  util::MappedFile mapping_;
  std::vector<std::byte> owned_;  // the image given to parse()
  std::span<const std::byte> bytes_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, size_t, std::less<>> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace hearth::gguf
