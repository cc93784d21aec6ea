// Every block format's decoder against llama.cpp's reference dequantization of the fixture
// files (tests/data/quant, see its SOURCE.md): the listed rows value for value to float32
// precision, and each whole tensor's sum and sum of squares to 1e-6 relative.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/dequantize.h"
#include "gguf/gguf_file.h"
#include "test_paths.h"

using namespace hearth;

namespace {

// The fixture's type names as gguf-py spells them, against hearth's.
bool same_type_name(std::string reference, const std::string& ours) {
  for (char& c : reference) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string lowered = ours;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reference == lowered;
}

void check_fixture(const std::string& name) {
  const std::string path = test::source_path("tests/data/quant/" + name);
  std::ifstream in(path + ".expected.json");
  REQUIRE(in);
  const nlohmann::json expected = nlohmann::json::parse(in);
  const auto file = gguf::File::open(path);
  size_t checked = 0;
  for (const auto& t : expected["tensors"]) {
    const std::string tensor = t["name"];
    INFO(name << ": " << tensor);
    const gguf::TensorInfo* info = file->find_tensor(tensor);
    REQUIRE(info != nullptr);
    CHECK(same_type_name(t["type"], tensor_type_name(info->type_id)));
    const int64_t cols = t["cols"], rows = t["rows"];
    REQUIRE(info->dims[0] == cols);
    const auto traits = tensor_type_traits(info->type_id);
    REQUIRE(traits);
    const size_t row_bytes = static_cast<size_t>(cols / traits->block_values) * traits->block_bytes;
    std::vector<float> row(static_cast<size_t>(cols));
    double sum = 0, squares = 0;
    for (int64_t r = 0; r < rows; ++r) {
      dequantize_row(info->type(), info->data + static_cast<size_t>(r) * row_bytes, cols,
                     row.data());
      for (float v : row) {
        sum += v;
        squares += double(v) * v;
      }
    }
    CHECK(sum == Approx(t["sum"].get<double>()).epsilon(1e-6).margin(1e-9));
    CHECK(squares == Approx(t["sum_squares"].get<double>()).epsilon(1e-6));
    for (size_t i = 0; i < t["row_index"].size(); ++i) {
      const int64_t r = t["row_index"][i];
      dequantize_row(info->type(), info->data + static_cast<size_t>(r) * row_bytes, cols,
                     row.data());
      const auto& want = t["row_values"][i];
      REQUIRE(want.size() == row.size());
      int mismatches = 0;
      for (size_t c = 0; c < row.size(); ++c) {
        // The reference holds 9 significant digits: enough to pin a float32.
        const auto reference = static_cast<float>(want[c].get<double>());
        if (row[c] != reference) ++mismatches;
      }
      CHECK(mismatches == 0);
    }
    ++checked;
  }
  CHECK(checked == file->tensors().size());
}

}  // namespace

TEST_CASE("block formats decode as the reference does", "[quant]") {
  for (const char* name : {"kq-f16.gguf", "kq-q4_1.gguf", "kq-q5_0.gguf", "kq-q5_1.gguf",
                           "kq-q2_k.gguf", "kq-q3_k_m.gguf", "kq-q4_k_m.gguf", "kq-q5_k_m.gguf",
                           "kq-q6_k.gguf", "kq-iq4_nl.gguf", "kq-iq4_xs.gguf"}) {
    SECTION(name) { check_fixture(name); }
  }
}

TEST_CASE("a block format row that is not whole blocks is refused", "[quant]") {
  std::vector<uint8_t> bytes(256);
  std::vector<float> out(300);
  CHECK_THROWS_WITH(dequantize_row(TensorType::q4_K, bytes.data(), 300, out.data()),
                    Catch::Contains("not whole blocks of 256"));
  CHECK_THROWS_WITH(dequantize_row(TensorType::q5_0, bytes.data(), 40, out.data()),
                    Catch::Contains("not whole blocks of 32"));
}
