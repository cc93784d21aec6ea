// Paged attention on each CPU kernel path against a plain double-precision computation.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "cpu/cpu_backend.h"
#include "kv_cache/kv_cache.h"

using namespace hearth;

namespace {

// Softmax attention of one query head over positions [0, context) of a (K, V) history.
std::vector<double> naive_attention(const float* q, const std::vector<std::vector<float>>& k,
                                    const std::vector<std::vector<float>>& v, int32_t head,
                                    int32_t head_dim, int32_t context) {
  std::vector<double> scores(context), out(head_dim, 0.0);
  double max_score = -1e300, sum = 0;
  for (int32_t p = 0; p < context; ++p) {
    double s = 0;
    for (int32_t d = 0; d < head_dim; ++d) s += double(q[d]) * k[p][head * head_dim + d];
    scores[p] = s / std::sqrt(double(head_dim));
    max_score = std::max(max_score, scores[p]);
  }
  for (auto& s : scores) sum += (s = std::exp(s - max_score));
  for (int32_t p = 0; p < context; ++p) {
    for (int32_t d = 0; d < head_dim; ++d) out[d] += scores[p] / sum * v[p][head * head_dim + d];
  }
  return out;
}

}  // namespace

TEST_CASE("attention over the paged cache matches a double-precision reference on every path",
          "[attention]") {
  const int32_t kv_heads = 2, group = 4, q_heads = kv_heads * group;
  const int32_t tokens = 3, history = 45;  // the batch's last 3 tokens see 43..45 positions
  // 8 and 64: the small-head and the wide-head vector paths; 45 positions leave odd counts
  // in the last block for the 3 tokens of the batch.
  for (int32_t head_dim : {8, 64})
    for (TensorType element : {TensorType::f32, TensorType::f16}) {
      for (cpu::Isa isa : {cpu::Isa::reference, cpu::Isa::avx2, cpu::Isa::avx512}) {
        if (!cpu::isa_supported(isa)) continue;
        INFO("isa " << cpu::isa_name(isa) << ", " << (element == TensorType::f16 ? "f16" : "f32")
                    << ", head size " << head_dim);
        cpu::CpuBackend backend({.threads = 2, .forced_isa = isa});
        KvCache cache(backend, KvCacheLayout{{kv_heads, kv_heads}, head_dim, 16, element}, 1 << 20);
        std::mt19937 rng(3);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<std::vector<float>> k(history, std::vector<float>(kv_heads * head_dim)), v = k;
        int32_t sequence = cache.create();
        std::vector<int32_t> slots;
        cache.append(sequence, history, slots);
        std::vector<int32_t> positions(history);
        for (int32_t p = 0; p < history; ++p) {
          positions[p] = p;
          for (auto& x : k[p]) x = normal(rng);
          for (auto& x : v[p]) x = normal(rng);
        }
        auto table = cache.block_table(sequence);
        std::vector<int32_t> tables(table.begin(), table.end()), offsets(history, 0);
        for (int32_t p = 0; p < history; ++p) {
          backend::KvBatchView one{std::span(positions).subspan(p, 1),
                                   std::span(slots).subspan(p, 1), std::span(offsets).subspan(p, 1),
                                   tables};
          backend.kv_store(cache.device_data(), cache.geometry(), 1, k[p].data(), v[p].data(), one);
        }
        std::vector<float> q(tokens * q_heads * head_dim), out(q.size());
        for (auto& x : q) x = normal(rng);
        backend::KvBatchView batch{std::span(positions).subspan(history - tokens),
                                   std::span(slots).subspan(history - tokens),
                                   std::span(offsets).subspan(history - tokens), tables};
        backend.attention(cache.device_data(), cache.geometry(), 1, q.data(), q_heads, batch,
                          out.data());
        // f16 storage rounds K and V to 11 significant bits.
        const double tolerance = element == TensorType::f16 ? 2e-3 : 1e-5;
        for (int32_t t = 0; t < tokens; ++t) {
          for (int32_t h = 0; h < q_heads; ++h) {
            auto expected = naive_attention(q.data() + (t * q_heads + h) * head_dim, k, v,
                                            h / group, head_dim, history - tokens + t + 1);
            for (int32_t d = 0; d < head_dim; ++d) {
              REQUIRE(out[(t * q_heads + h) * head_dim + d] ==
                      Approx(expected[d]).margin(tolerance));
            }
          }
        }
      }
    }
}
