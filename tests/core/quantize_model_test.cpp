// `hearth quantize` through its API: the F16 fixture written as Q4_K_M (and other recipes)
// loads and runs, has the mixture's types where llama.cpp puts them, and every weight is
// within the format's bound of its F16 value: half a step of its (sub-)block, the step being
// at most 1/8 above (range of the sub-block) / (levels) because scales are rounded up.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gguf/dequantize.h"
#include "gguf/gguf_file.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "hearth/quantize.h"
#include "test_paths.h"

using namespace hearth;

namespace {

std::string temp_model(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("hearth-quantize-" + std::to_string(::getpid()) + "-" + name + ".gguf"))
      .string();
}

std::vector<float> row_values(const gguf::TensorInfo& t, int64_t row) {
  const int64_t cols = t.dims[0];
  const auto traits = *tensor_type_traits(t.type_id);
  std::vector<float> out(static_cast<size_t>(cols));
  dequantize_row(
      t.type(),
      t.data + static_cast<size_t>(row) * (cols / traits.block_values) * traits.block_bytes, cols,
      out.data());
  return out;
}

// Largest |quantized - source| allowed for source values x[0..n) of one (sub-)block.
double half_step(TensorType type, const float* x, int n) {
  float lo = *std::min_element(x, x + n), hi = *std::max_element(x, x + n);
  const float amax = std::max(std::fabs(lo), std::fabs(hi));
  switch (type) {
    case TensorType::q4_K:
      return (hi - std::min(lo, 0.0f)) / 15 / 2 * 1.125;
    case TensorType::q5_K:
      return (hi - std::min(lo, 0.0f)) / 31 / 2 * 1.125;
    case TensorType::q6_K:
      return 2 * amax / 62 / 2 * 1.125;
    default:
      return 0;
  }
}

// Loads a written model on the engine and returns how many of 8 greedy tokens it generated.
size_t greedy_tokens(const std::string& path) {
  EngineOptions e;
  e.model_path = path;
  e.threads = 1;
  e.context_size = 64;
  auto engine = Engine::load(e);
  GenerationOptions g;
  g.max_tokens = 8;
  g.sampling.temperature = 0;
  g.ignore_eos = true;
  return engine->generate("Once upon a time", g).tokens.size();
}

}  // namespace

TEST_CASE("q4_K_M from the F16 fixture: the mixture's types, the format's bound, and it runs",
          "[quantize]") {
  QuantizeOptions o;
  o.input = test::source_path("tests/data/quant/kq-f16.gguf");
  o.output = temp_model("q4_K_M");
  o.type = "q4_K_M";
  const QuantizeStats stats = quantize_model(o);
  CHECK(stats.tensors == 21);
  CHECK(stats.tensors_per_type.at("q6_K") == 3);  // output, and layer 1's attn_v and ffn_down
  CHECK(stats.tensors_per_type.at("q4_K") == 13);
  CHECK(stats.output_bytes < stats.input_bytes / 3);

  const auto source = gguf::File::open(o.input);
  const auto written = gguf::File::open(o.output);
  CHECK(written->get_uint("general.file_type") == 15u);  // llama.cpp's number for Q4_K_M
  for (const gguf::TensorInfo& t : written->tensors()) {
    INFO(t.name << " (" << tensor_type_name(t.type_id) << ")");
    const gguf::TensorInfo* f16 = source->find_tensor(t.name);
    REQUIRE(f16);
    CHECK(t.dims == f16->dims);
    if (t.dims.size() == 1) {
      CHECK(t.type() == f16->type());
      continue;
    }
    CHECK((t.type() == TensorType::q4_K || t.type() == TensorType::q6_K));
    const int group = t.type() == TensorType::q6_K ? 16 : 32;
    int64_t over = 0;
    for (int64_t r = 0; r < t.element_count / t.dims[0]; ++r) {
      const std::vector<float> x = row_values(*f16, r), q = row_values(t, r);
      for (size_t b = 0; b < x.size(); b += group) {
        const double bound = half_step(t.type(), &x[b], group) + 1e-7;
        for (int i = 0; i < group; ++i) over += std::fabs(q[b + i] - x[b + i]) > bound;
      }
    }
    CHECK(over == 0);
  }
  CHECK(greedy_tokens(o.output) == 8);  // it loads and generates on the engine
  std::filesystem::remove(o.output);
}

TEST_CASE("quantize refuses what it cannot do, naming it", "[quantize]") {
  QuantizeOptions o;
  o.output = temp_model("refused");
  o.input = test::source_path("tests/data/quant/kq-q4_k_m.gguf");
  o.type = "q4_K";
  CHECK_THROWS_WITH(quantize_model(o), Catch::Contains("'output.weight' is q4_K") &&
                                           Catch::Contains("F32, F16 and BF16"));
  o.input = test::source_path("tests/data/quant/kq-f16.gguf");
  o.type = "q3_Z";
  CHECK_THROWS_WITH(quantize_model(o), Catch::Contains("unknown type 'q3_Z'"));
  o.type = "q4_K";
  o.input = test::source_path("tests/data/quant/absent.gguf");
  CHECK_THROWS_WITH(quantize_model(o), Catch::Contains("absent.gguf"));
  CHECK_FALSE(std::filesystem::exists(o.output));
}

TEST_CASE("a pure recipe writes every matrix in the base type", "[quantize]") {
  QuantizeOptions o;
  o.input = test::source_path("tests/data/quant/kq-f16.gguf");
  o.output = temp_model("pure");
  o.type = "q5_K_M";
  o.pure = true;
  const QuantizeStats stats = quantize_model(o);
  CHECK(stats.tensors_per_type.at("q5_K") == 16);
  CHECK(stats.tensors_per_type.count("q6_K") == 0);
  std::filesystem::remove(o.output);
}

TEST_CASE("the Q2_K and Q3_K mixtures put llama.cpp's types where it does, and they run",
          "[quantize]") {
  // The fixture: 2 layers, 4 query heads over 2 KV heads (so no attn_v rule for 4+ heads per
  // KV head applies), every matrix's width whole super-blocks. 16 matrices: token_embd,
  // output, and per layer attn_q/k/v/output and ffn_gate/up/down.
  struct Expected {
    const char* recipe;
    uint64_t file_type;
    std::map<std::string, int> per_type;
  };
  const Expected cases[] = {
      // attn_v, ffn_down and attn_output in Q3_K.
      {"q2_K_M", 10, {{"q2_K", 9}, {"q3_K", 6}, {"q6_K", 1}}},
      {"q2_K_S", 21, {{"q2_K", 15}, {"q6_K", 1}}},
      {"q3_K_S", 11, {{"q3_K", 15}, {"q6_K", 1}}},
      // attn_v of the first two layers in Q5_K; ffn_down and attn_output in Q4_K.
      {"q3_K_M", 12, {{"q3_K", 9}, {"q4_K", 4}, {"q5_K", 2}, {"q6_K", 1}}},
      {"q3_K_L", 13, {{"q3_K", 9}, {"q5_K", 6}, {"q6_K", 1}}},
  };
  for (const Expected& expected : cases) {
    INFO(expected.recipe);
    QuantizeOptions o;
    o.input = test::source_path("tests/data/quant/kq-f16.gguf");
    o.output = temp_model(expected.recipe);
    o.type = expected.recipe;
    const QuantizeStats stats = quantize_model(o);
    std::map<std::string, int> matrices;
    for (const auto& [type, count] : stats.tensors_per_type) {
      if (type != "f32") matrices[type] = static_cast<int>(count);
    }
    CHECK(matrices == expected.per_type);
    const auto written = gguf::File::open(o.output);
    CHECK(written->get_uint("general.file_type") == expected.file_type);
    const gguf::TensorInfo* attn_v = written->find_tensor("blk.1.attn_v.weight");
    REQUIRE(attn_v);
    if (std::string(expected.recipe) == "q3_K_M") CHECK(attn_v->type() == TensorType::q5_K);
    CHECK(greedy_tokens(o.output) == 8);
    std::filesystem::remove(o.output);
  }
}
