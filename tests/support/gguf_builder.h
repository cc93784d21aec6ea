// Builds GGUF images in memory so tests can write well-formed and deliberately broken files.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace hearth::test {

class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version = 3) : version_(version) {}

  GgufBuilder& u32(const std::string& key, uint32_t v) { return scalar(key, 4, v); }
  GgufBuilder& f32(const std::string& key, float v) { return scalar(key, 6, v); }
  GgufBuilder& boolean(const std::string& key, bool v) { return scalar(key, 7, uint8_t{v}); }
  GgufBuilder& str(const std::string& key, const std::string& v) {
    key_header(key, 8);
    put_string(kv_, v);
    ++kv_count_;
    return *this;
  }
  GgufBuilder& strings(const std::string& key, const std::vector<std::string>& v) {
    key_header(key, 9);
    put(kv_, uint32_t{8});
    put(kv_, uint64_t{v.size()});
    for (const auto& s : v) put_string(kv_, s);
    ++kv_count_;
    return *this;
  }
  GgufBuilder& floats(const std::string& key, const std::vector<float>& v) {
    key_header(key, 9);
    put(kv_, uint32_t{6});
    put(kv_, uint64_t{v.size()});
    for (float f : v) put(kv_, f);
    ++kv_count_;
    return *this;
  }
  GgufBuilder& ints(const std::string& key, const std::vector<int32_t>& v) {
    key_header(key, 9);
    put(kv_, uint32_t{5});
    put(kv_, uint64_t{v.size()});
    for (int32_t i : v) put(kv_, i);
    ++kv_count_;
    return *this;
  }
  // A tensor with the given dims (innermost first), type and raw bytes.
  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      std::vector<uint8_t> bytes) {
    put_string(info_, name);
    put(info_, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(info_, d);
    put(info_, type);
    put(info_, static_cast<uint64_t>(data_.size()));
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    while (data_.size() % 32) data_.push_back(0);
    ++tensor_count_;
    return *this;
  }
  GgufBuilder& f32_tensor(const std::string& name, std::vector<uint64_t> dims,
                          const std::vector<float>& values) {
    std::vector<uint8_t> bytes(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return tensor(name, std::move(dims), 0, std::move(bytes));
  }

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
    put(out, version_);
    put(out, tensor_count_);
    put(out, kv_count_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    out.insert(out.end(), info_.begin(), info_.end());
    while (out.size() % 32) out.push_back(0);
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

 private:
  template <typename T>
  static void put(std::vector<uint8_t>& out, T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put(out, static_cast<uint64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void key_header(const std::string& key, uint32_t type) {
    put_string(kv_, key);
    put(kv_, type);
  }
  template <typename T>
  GgufBuilder& scalar(const std::string& key, uint32_t type, T v) {
    key_header(key, type);
    put(kv_, v);
    ++kv_count_;
    return *this;
  }

  uint32_t version_;
  uint64_t kv_count_ = 0, tensor_count_ = 0;
  std::vector<uint8_t> kv_, info_, data_;
};

}  // namespace hearth::test
