// Perplexity by llama-perplexity's method, against llama.cpp's own figure on the same file and
// text, and the refusals of texts and settings it cannot measure.
#include "hearth/perplexity.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;

namespace {

std::string sample_text() {
  std::ifstream in(test::source_path("tests/data/text/tinystories-sample.txt"), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::unique_ptr<Engine> load(const std::string& model, int32_t context) {
  EngineOptions o;
  o.model_path = model;
  o.threads = 1;
  o.context_size = context;
  return Engine::load(o);
}

}  // namespace

TEST_CASE("perplexity matches llama-perplexity's on the same model and text", "[perplexity]") {
  // llama-perplexity -m stories260K.gguf -f tinystories-sample.txt -c 128 -b 128 -t 1, built
  // outside the project: "[14]6.6855" and "Final estimate: PPL = 6.6855 +/- 0.71766"; with
  // -c 256: 6.3090 +/- 0.64600.
  const std::string text = sample_text();
  for (const auto& [context, expected, error] :
       {std::tuple{128, 6.6855, 0.71766}, std::tuple{256, 6.3090, 0.64600}}) {
    CAPTURE(context);
    auto engine = load(test::model_path(), context);
    PerplexityOptions o;
    o.context = context;
    o.batch = 64;  // several passes per chunk: the same figure
    const PerplexityResult r = measure_perplexity(*engine, text, o);
    CHECK(r.chunks == static_cast<int32_t>(r.text_tokens / context));
    CHECK(r.scored_tokens == int64_t{r.chunks} * (context - 1 - context / 2));
    CHECK(r.running.size() == static_cast<size_t>(r.chunks));
    CHECK(r.perplexity == Approx(expected).epsilon(5e-4));
    CHECK(r.error == Approx(error).epsilon(5e-3));
    CHECK(r.running.back() == Approx(r.perplexity));
  }
}

TEST_CASE("the MHA twin's perplexity equals the GQA model's", "[perplexity]") {
  const std::string text = sample_text();
  PerplexityOptions o;
  o.context = 128;
  const double gqa = measure_perplexity(*load(test::model_path(), 128), text, o).perplexity;
  const double mha = measure_perplexity(*load(test::mha_model_path(), 128), text, o).perplexity;
  CHECK(mha == Approx(gqa).epsilon(1e-4));
}

TEST_CASE("perplexity refuses texts too short and contexts out of range", "[perplexity]") {
  auto engine = load(test::model_path(), 256);
  PerplexityOptions o;
  o.context = 128;
  CHECK_THROWS_WITH(measure_perplexity(*engine, "Once upon a time.", o),
                    Catch::Contains("at least 256") && Catch::Contains("two chunks"));
  o.context = 512;
  CHECK_THROWS_WITH(measure_perplexity(*engine, sample_text(), o),
                    Catch::Contains("512") && Catch::Contains("engine's context"));
  o.context = 128;
  o.max_chunks = 2;
  CHECK(measure_perplexity(*engine, sample_text(), o).chunks == 2);
}
