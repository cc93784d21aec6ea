#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <span>

#include "gguf/gguf_file.h"
#include "gguf_builder.h"
#include "hearth/error.h"
#include "test_paths.h"

using hearth::Error;
using hearth::gguf::File;
using hearth::test::GgufBuilder;

namespace {

std::unique_ptr<File> parse(const std::vector<uint8_t>& bytes) {
  return File::parse(std::as_bytes(std::span(bytes)), "test.gguf");
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

GgufBuilder small_model() {
  GgufBuilder b;
  b.str("general.architecture", "llama").u32("llama.block_count", 1).f32("llama.eps", 1e-5f);
  b.strings("tokenizer.ggml.tokens", {"a", "b"}).boolean("flag", true).ints("ids", {1, -2});
  b.f32_tensor("w", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  return b;
}

}  // namespace

TEST_CASE("reads every metadata type and tensor of a well-formed file", "[gguf]") {
  auto file = parse(small_model().build());
  CHECK(file->version() == 3);
  CHECK(file->get_string("general.architecture") == "llama");
  CHECK(file->get_uint("llama.block_count") == 1u);
  CHECK(file->get_float("llama.eps").value() == Approx(1e-5));
  CHECK(file->get_bool("flag") == true);
  CHECK(file->get_int_array("ids") == std::vector<int64_t>{1, -2});
  CHECK(file->get_string_array("tokenizer.ggml.tokens")->size() == 2);
  CHECK_FALSE(file->get_string("absent"));
  const auto* w = file->find_tensor("w");
  REQUIRE(w);
  CHECK(w->dims == std::vector<int64_t>{4, 2});
  CHECK(w->byte_size == 32);
  float third;
  std::memcpy(&third, w->data + 8, 4);
  CHECK(third == 3.0f);
}

TEST_CASE("wrong metadata types are named", "[gguf]") {
  auto file = parse(small_model().build());
  CHECK_THROWS_WITH(file->get_uint("general.architecture"),
                    Catch::Contains("general.architecture") && Catch::Contains("string"));
}

TEST_CASE("version 2 files are read", "[gguf]") {
  GgufBuilder b(2);
  b.u32("x", 7);
  CHECK(parse(b.build())->get_uint("x") == 7u);
}

TEST_CASE("bad magic and version are refused", "[gguf]") {
  auto bytes = small_model().build();
  auto bad = bytes;
  bad[0] = 'X';
  CHECK_THROWS_WITH(parse(bad), Catch::Contains("bad magic"));
  bad = bytes;
  bad[4] = 9;
  CHECK_THROWS_WITH(parse(bad), Catch::Contains("unsupported GGUF version 9"));
  CHECK_THROWS_WITH(parse({}), Catch::Contains("not a GGUF file"));
}

TEST_CASE("every truncation of a real model is a clear error", "[gguf]") {
  auto bytes = read_file(hearth::test::model_path());
  REQUIRE(bytes.size() > 100000);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 4096; n += 7) cuts.push_back(n);                // the header, densely
  for (size_t n = 4096; n < bytes.size(); n += 9973) cuts.push_back(n);  // the data
  cuts.push_back(bytes.size() - 1);
  for (size_t n : cuts) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    std::string message = parse_error(cut);
    INFO("truncated at " << n);
    CHECK_THAT(message, Catch::Contains("test.gguf"));
  }
}

TEST_CASE("hostile counts, lengths, offsets and types are refused", "[gguf]") {
  auto base = small_model().build();
  auto patch_u64 = [](std::vector<uint8_t> b, size_t at, uint64_t v) {
    std::memcpy(b.data() + at, &v, 8);
    return b;
  };
  SECTION("tensor count") {
    CHECK_THAT(parse_error(patch_u64(base, 8, uint64_t{1} << 60)), Catch::Contains("tensor count"));
  }
  SECTION("metadata count") {
    CHECK_THAT(parse_error(patch_u64(base, 16, uint64_t{1} << 60)),
               Catch::Contains("metadata count"));
  }
  SECTION("string length") {
    // The first key's length field sits right after the 24-byte header.
    CHECK_THAT(parse_error(patch_u64(base, 24, uint64_t{1} << 62)),
               Catch::Contains("string length"));
  }
  SECTION("array count") {
    GgufBuilder b;
    b.strings("list", {"x"});
    auto bytes = b.build();
    // key length(8) + "list"(4) + type(4) + element type(4) -> count
    CHECK_THAT(parse_error(patch_u64(bytes, 24 + 8 + 4 + 4 + 4, uint64_t{1} << 50)),
               Catch::Contains("array of"));
  }
  SECTION("value type") {
    GgufBuilder b;
    b.u32("k", 1);
    auto bytes = b.build();
    bytes[24 + 8 + 1] = 77;
    CHECK_THAT(parse_error(bytes), Catch::Contains("unknown value type 77"));
  }
  SECTION("tensor offset outside the file") {
    GgufBuilder b;
    b.f32_tensor("w", {8}, std::vector<float>(8, 1.0f));
    auto bytes = b.build();
    // name length(8) + "w"(1) + n_dims(4) + dim(8) + type(4) -> offset
    CHECK_THAT(parse_error(patch_u64(bytes, 24 + 8 + 1 + 4 + 8 + 4, 1 << 20)),
               Catch::Contains("outside the file"));
    CHECK_THAT(parse_error(patch_u64(bytes, 24 + 8 + 1 + 4 + 8 + 4, 3)),
               Catch::Contains("alignment"));
  }
  SECTION("dimension count and sizes") {
    GgufBuilder b;
    b.tensor("w", {0}, 0, {});
    CHECK_THAT(parse_error(b.build()), Catch::Contains("zero or too large"));
    GgufBuilder c;
    c.tensor("w", {1, 1, 1, 1, 1}, 0, std::vector<uint8_t>(4));
    CHECK_THAT(parse_error(c.build()), Catch::Contains("dimension count"));
  }
  SECTION("quantized row not a whole number of blocks") {
    GgufBuilder b;
    b.tensor("q", {20}, 8, std::vector<uint8_t>(34));
    CHECK_THAT(parse_error(b.build()), Catch::Contains("block size"));
  }
  SECTION("duplicate key") {
    GgufBuilder b;
    b.u32("k", 1).u32("k", 2);
    CHECK_THAT(parse_error(b.build()), Catch::Contains("duplicate"));
  }
}

TEST_CASE("unsupported tensor types are listed and named when used", "[gguf]") {
  GgufBuilder b;
  b.tensor("i_quant", {256}, 16, std::vector<uint8_t>(66));  // iq2_xxs
  auto file = parse(b.build());
  const auto* t = file->find_tensor("i_quant");
  REQUIRE(t);
  CHECK_THROWS_WITH(
      File::require_supported(*file, *t),
      Catch::Contains("unsupported tensor type iq2_xxs") && Catch::Contains("i_quant"));
}

TEST_CASE("a missing file names the path", "[gguf]") {
  CHECK_THROWS_WITH(File::open("/nonexistent/model.gguf"),
                    Catch::Contains("/nonexistent/model.gguf"));
}
