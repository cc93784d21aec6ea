// The fixture models in every block format (tests/data/quant) load and run on every CPU
// kernel path this machine has: the paths agree with the reference path, and each format's
// logits follow those of the F16 file it was quantized from, the closer the more bits.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "test_paths.h"

namespace {

std::vector<float> prompt_logits(const std::string& file, const std::string& kernels) {
  hearth::EngineOptions o;
  o.model_path = hearth::test::source_path("tests/data/quant/" + file);
  o.threads = 2;
  o.context_size = 64;
  o.cpu_kernels = kernels;
  auto engine = hearth::Engine::load(o);
  const std::vector<int32_t> tokens = {1, 403, 261, 9, 73, 300, 12, 27};
  return engine->prefill(engine->create_sequence(), tokens);
}

// Pearson correlation of two logit vectors.
double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= a.size();
  mb /= b.size();
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

bool has_path(const char* kernels) {
  try {
    prompt_logits("kq-q4_1.gguf", kernels);
    return true;
  } catch (const std::exception&) {
    return false;  // this CPU lacks the instructions
  }
}

}  // namespace

TEST_CASE("block-format models agree across kernel paths and follow their F16 source",
          "[engine][quant]") {
  const std::vector<float> source = prompt_logits("kq-f16.gguf", "reference");
  struct Case {
    const char* file;
    double min_correlation;  // with the F16 source's logits: fewer bits, looser
  };
  for (const Case& c :
       {Case{"kq-q4_1.gguf", 0.95}, Case{"kq-q5_0.gguf", 0.98}, Case{"kq-q5_1.gguf", 0.98},
        Case{"kq-q2_k.gguf", 0.6}, Case{"kq-q3_k_m.gguf", 0.85}, Case{"kq-q4_k_m.gguf", 0.95},
        Case{"kq-q5_k_m.gguf", 0.98}, Case{"kq-q6_k.gguf", 0.99}, Case{"kq-iq4_nl.gguf", 0.95},
        Case{"kq-iq4_xs.gguf", 0.95}}) {
    INFO(c.file);
    const std::vector<float> reference = prompt_logits(c.file, "reference");
    REQUIRE(reference.size() == source.size());
    CHECK(correlation(reference, source) >= c.min_correlation);
    for (const char* path : {"avx2", "avx512"}) {
      if (!has_path(path)) continue;
      INFO(path);
      // The same packed weights; only the order of the float sums differs. A difference in
      // the last bit can still flip the int8 rounding of an activation in a later layer,
      // which moves these random-weight logits by up to about 1% of their range (the
      // kernels themselves are held to the reference in kernel_test).
      double range = 0;
      for (float v : reference) range = std::max(range, double(std::fabs(v)));
      const std::vector<float> logits = prompt_logits(c.file, path);
      CHECK(max_abs_diff(logits, reference) <= 2e-2 * range);
      CHECK(correlation(logits, source) >= c.min_correlation);
    }
  }
}
