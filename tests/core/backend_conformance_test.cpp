// Every op of backend.h on every registered backend and every kernel path it offers on this
// machine, against plain double-precision references written here (ggml's test-backend-ops).
// A new backend joins by registering itself in backends/backend_registry.cpp.
//
// Tolerances, as the largest |error| allowed:
//   matmul        relative to sum |w * x| of the output: f32 2e-6 (f32 sums of exact products);
//                 f16, bf16 4e-3 (the AVX-512 prefill path rounds activations to bf16);
//                 q8_0, q4_0 1e-2 (activations are rounded to int8 per 32-value block)
//   embed         exact: every weight type decodes to f32 without rounding
//   rms_norm      1e-5 relative; add_bias, add exact; swiglu 1e-5 relative (f32 exp)
//   rope          1e-5 absolute on unit-sized values (angles in double, rotation in f32)
//   attention     f32 cache 1e-5 absolute; f16 cache 2e-3 (keys and values rounded to 11 bits)
//   KV rows       exact: read_rows returns what kv_store or write_rows stored, in the cache type
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "backend_registry.h"
#include "gguf/fp16.h"
#include "kv_cache/kv_cache.h"

using namespace hearth;
using backend::Activation;
using backend::Backend;

namespace {

struct Target {
  std::string backend, kernels;
  std::string name() const { return backend + " (" + kernels + " kernels)"; }
};

std::vector<Target> targets() {
  std::vector<Target> all;
  for (const auto& entry : backend::backends()) {
    for (const auto& path : entry.kernel_paths()) all.push_back({entry.name, path});
  }
  return all;
}

std::unique_ptr<Backend> create(const Target& t) {
  return backend::find_backend(t.backend)->create({2, t.kernels});
}

// Device copies of host arrays, and back.
class DeviceArray {
 public:
  DeviceArray(Backend& b, const std::vector<float>& host)
      : backend_(b), buffer_(b.allocate(host.size() * sizeof(float))), size_(host.size()) {
    b.upload(buffer_->data(), host.data(), host.size() * sizeof(float));
  }
  DeviceArray(Backend& b, size_t size) : DeviceArray(b, std::vector<float>(size, 0.0f)) {}
  Activation* get() { return static_cast<Activation*>(buffer_->data()); }
  std::vector<float> read() const {
    std::vector<float> host(size_);
    backend_.download(host.data(), buffer_->data(), size_ * sizeof(float));
    return host;
  }

 private:
  Backend& backend_;
  std::unique_ptr<backend::DeviceBuffer> buffer_;
  size_t size_;
};

std::vector<float> random_values(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

double max_abs_error(const std::vector<float>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  return worst;
}

// A weight matrix in GGUF layout and the values it encodes.
struct Weights {
  std::vector<uint8_t> raw;
  std::vector<double> values;  // [rows][cols]
};

Weights random_weights(TensorType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f), scale(0.001f, 0.05f);
  std::uniform_int_distribution<int> byte(0, 255);
  Weights w;
  auto append = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    w.raw.insert(w.raw.end(), b, b + n);
  };
  for (int64_t i = 0; i < rows * cols; ++i) {
    if (type == TensorType::f32) {
      const float v = value(rng);
      append(&v, 4);
      w.values.push_back(v);
    } else if (type == TensorType::f16) {
      const uint16_t h = f32_to_f16(value(rng));
      append(&h, 2);
      w.values.push_back(f16_to_f32(h));
    } else if (type == TensorType::bf16) {
      const uint16_t h = f32_to_bf16(value(rng));
      append(&h, 2);
      w.values.push_back(bf16_to_f32(h));
    } else if (i % kQuantBlock == 0) {  // a q8_0 or q4_0 block: f16 scale d, then the quants
      const uint16_t d_bits = f32_to_f16(scale(rng));
      const double d = f16_to_f32(d_bits);
      append(&d_bits, 2);
      if (type == TensorType::q8_0) {
        for (int j = 0; j < 32; ++j) {
          const auto q = static_cast<int8_t>(byte(rng));
          append(&q, 1);
          w.values.push_back(d * q);
        }
      } else {  // q4_0: byte j holds value j (low nibble) and value j + 16 (high), minus 8
        uint8_t quants[16];
        for (auto& q : quants) q = static_cast<uint8_t>(byte(rng));
        append(quants, 16);
        for (int j = 0; j < 32; ++j) {
          const int q = j < 16 ? quants[j] & 0x0f : quants[j - 16] >> 4;
          w.values.push_back(d * (q - 8));
        }
      }
    }
  }
  return w;
}

const char* type_name(TensorType t) {
  switch (t) {
    case TensorType::f32:
      return "f32";
    case TensorType::f16:
      return "f16";
    case TensorType::bf16:
      return "bf16";
    case TensorType::q8_0:
      return "q8_0";
    default:
      return "q4_0";
  }
}

constexpr TensorType kWeightTypes[] = {TensorType::f32, TensorType::f16, TensorType::bf16,
                                       TensorType::q8_0, TensorType::q4_0};

// One pass over host arrays that outlive it.
struct Pass {
  std::vector<int32_t> tokens, positions, slots, table_offsets, tables, logit_rows;
  backend::PassInfo info() const {
    return {tokens, positions, slots, table_offsets, tables, logit_rows};
  }
};

}  // namespace

TEST_CASE("conformance: matmul of every weight type", "[backend][conformance]") {
  for (const Target& target : targets()) {
    auto b = create(target);
    for (TensorType type : kWeightTypes) {
      const bool quant = type == TensorType::q8_0 || type == TensorType::q4_0;
      // Odd row counts leave partial row groups; float types get odd column counts too.
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{37, quant ? 96 : 67},
                                {16, quant ? 32 : 5},
                                {3, quant ? 160 : 130}}) {
        for (int64_t tokens : {1, 3, 7}) {
          INFO(target.name() << ", " << type_name(type) << ", " << rows << " x " << cols << ", "
                             << tokens << " tokens");
          std::mt19937 rng(static_cast<uint32_t>(rows * 131 + cols * 7 + tokens));
          const Weights w = random_weights(type, rows, cols, rng);
          auto matrix = b->load_matrix(type, w.raw.data(), rows, cols);
          REQUIRE(matrix->rows() == rows);
          REQUIRE(matrix->cols() == cols);
          const std::vector<float> x = random_values(tokens * cols, rng);
          DeviceArray x_dev(*b, x), y_dev(*b, tokens * rows);
          b->matmul(*matrix, x_dev.get(), tokens, y_dev.get());
          const std::vector<float> y = y_dev.read();
          const double tolerance = type == TensorType::f32 ? 2e-6 : quant ? 1e-2 : 4e-3;
          for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              double want = 0, magnitude = 0;
              for (int64_t k = 0; k < cols; ++k) {
                want += w.values[r * cols + k] * x[t * cols + k];
                magnitude += std::abs(w.values[r * cols + k] * x[t * cols + k]);
              }
              REQUIRE(std::abs(y[t * rows + r] - want) <= tolerance * magnitude);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("conformance: matmul_shared_input equals one matmul per matrix",
          "[backend][conformance]") {
  // Runs of one type (q, k and v of a Q4_0 file) share a job; a change of type (Q4_K_M's v)
  // or of width starts another. Sizes above and below the threshold for running in parallel,
  // row counts off the chunk boundaries.
  struct Spec {
    TensorType type;
    int64_t rows, cols;
  };
  const std::vector<Spec> specs = {{TensorType::q4_0, 300, 1024}, {TensorType::q4_0, 37, 1024},
                                   {TensorType::q4_0, 72, 1024},  {TensorType::q8_0, 70, 1024},
                                   {TensorType::q8_0, 16, 1024},  {TensorType::f16, 5, 1024},
                                   {TensorType::q4_0, 3, 64}};
  for (const Target& target : targets()) {
    auto b = create(target);
    std::mt19937 rng(11);
    std::vector<std::unique_ptr<backend::DeviceMatrix>> matrices;
    for (const Spec& s : specs) {
      const Weights w = random_weights(s.type, s.rows, s.cols, rng);
      matrices.push_back(b->load_matrix(s.type, w.raw.data(), s.rows, s.cols));
    }
    for (int64_t tokens : {1, 4, 9}) {
      // Each slice of consecutive matrices of one width, as a layer would pass them.
      for (size_t first = 0; first < specs.size(); ++first) {
        for (size_t last = first + 1; last <= specs.size(); ++last) {
          if (specs[last - 1].cols != specs[first].cols) break;
          INFO(target.name() << ", matrices " << first << ".." << last - 1 << ", " << tokens
                             << " tokens");
          const std::vector<float> x = random_values(tokens * specs[first].cols, rng);
          DeviceArray x_dev(*b, x);
          std::vector<DeviceArray> together, alone;
          std::vector<Backend::MatmulOutput> outputs;
          for (size_t i = first; i < last; ++i) {
            together.emplace_back(*b, tokens * specs[i].rows);
            alone.emplace_back(*b, tokens * specs[i].rows);
          }
          for (size_t i = first; i < last; ++i) {
            outputs.push_back({matrices[i].get(), together[i - first].get()});
            b->matmul(*matrices[i], x_dev.get(), tokens, alone[i - first].get());
          }
          b->matmul_shared_input(outputs, x_dev.get(), tokens);
          for (size_t i = 0; i < outputs.size(); ++i)
            REQUIRE(together[i].read() == alone[i].read());
        }
      }
    }
  }
}

TEST_CASE("conformance: embed looks rows up for every weight type", "[backend][conformance]") {
  for (const Target& target : targets()) {
    auto b = create(target);
    for (TensorType type : kWeightTypes) {
      for (auto use : {backend::MatrixUse::lookup, backend::MatrixUse::multiply_and_lookup}) {
        INFO(target.name() << ", " << type_name(type));
        const int64_t rows = 11,
                      cols = type == TensorType::q8_0 || type == TensorType::q4_0 ? 64 : 13;
        std::mt19937 rng(5);
        const Weights w = random_weights(type, rows, cols, rng);
        auto table = b->load_matrix(type, w.raw.data(), rows, cols, use);
        Pass pass;
        pass.tokens = {3, 0, 10, 3};
        pass.positions = {0, 1, 2, 3};
        DeviceArray out(*b, pass.tokens.size() * cols);
        b->begin_pass(pass.info());
        b->embed(*table, out.get());
        b->end_pass();
        std::vector<double> want;
        for (int32_t id : pass.tokens) {
          want.insert(want.end(), w.values.begin() + id * cols, w.values.begin() + (id + 1) * cols);
        }
        CHECK(max_abs_error(out.read(), want) == 0.0);

        pass.tokens = {2, int32_t(rows)};
        b->begin_pass(pass.info());
        CHECK_THROWS_WITH(b->embed(*table, out.get()), Catch::Contains("outside"));
        b->end_pass();
      }
    }
  }
}

TEST_CASE("conformance: rms_norm, add_bias, add and swiglu", "[backend][conformance]") {
  for (const Target& target : targets()) {
    INFO(target.name());
    auto b = create(target);
    std::mt19937 rng(7);
    for (auto [tokens, dim] : {std::pair<int64_t, int64_t>{1, 7}, {5, 33}, {9, 4096}}) {
      INFO(tokens << " x " << dim);
      const auto x = random_values(tokens * dim, rng, 2.0f);
      const auto weight = random_values(dim, rng);
      const auto y = random_values(tokens * dim, rng);
      const float eps = 1e-5f;

      std::vector<double> norm(x.size());
      for (int64_t t = 0; t < tokens; ++t) {
        double sum = 0;
        for (int64_t i = 0; i < dim; ++i) sum += double(x[t * dim + i]) * x[t * dim + i];
        const double scale = 1.0 / std::sqrt(sum / dim + eps);
        for (int64_t i = 0; i < dim; ++i) norm[t * dim + i] = x[t * dim + i] * scale * weight[i];
      }
      DeviceArray x_dev(*b, x), w_dev(*b, weight), out(*b, x.size());
      b->rms_norm(x_dev.get(), w_dev.get(), tokens, dim, eps, out.get());
      auto got = out.read();
      for (size_t i = 0; i < got.size(); ++i) {
        REQUIRE(got[i] == Approx(norm[i]).epsilon(1e-5).margin(1e-6));
      }
      b->rms_norm(x_dev.get(), w_dev.get(), tokens, dim, eps, x_dev.get());  // in place
      CHECK(x_dev.read() == got);

      DeviceArray biased(*b, y), bias(*b, weight);
      b->add_bias(biased.get(), bias.get(), tokens, dim);
      got = biased.read();
      for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == y[i] + weight[i % dim]);

      DeviceArray sum(*b, x), addend(*b, y);
      b->add(sum.get(), addend.get(), tokens * dim);
      got = sum.read();
      for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == x[i] + y[i]);

      DeviceArray gate(*b, x), up(*b, y), swiglu(*b, x.size());
      b->swiglu(gate.get(), up.get(), tokens * dim, swiglu.get());
      got = swiglu.read();
      for (size_t i = 0; i < got.size(); ++i) {
        const double g = x[i];
        REQUIRE(got[i] == Approx(g / (1 + std::exp(-g)) * y[i]).epsilon(1e-5).margin(1e-6));
      }
      b->swiglu(gate.get(), up.get(), tokens * dim, gate.get());  // out aliases gate
      CHECK(gate.read() == got);
    }
  }
}

TEST_CASE("conformance: rope, interleaved and neox, with partial rotation",
          "[backend][conformance]") {
  for (const Target& target : targets()) {
    auto b = create(target);
    for (bool neox : {false, true}) {
      for (auto [head_dim, rope_dims] : {std::pair<int32_t, int32_t>{8, 8}, {10, 6}, {64, 32}}) {
        INFO(target.name() << (neox ? ", neox" : ", interleaved") << ", head " << head_dim
                           << ", rope " << rope_dims);
        const int32_t q_heads = 4, k_heads = 2;
        const float theta = 10000.0f;
        Pass pass;
        pass.positions = {0, 1, 17, 500, 4095};
        const size_t tokens = pass.positions.size();
        std::mt19937 rng(11);
        const auto q = random_values(tokens * q_heads * head_dim, rng);
        const auto k = random_values(tokens * k_heads * head_dim, rng);
        auto rotate = [&](const std::vector<float>& x, int32_t heads) {
          std::vector<double> out(x.begin(), x.end());
          const int32_t half = rope_dims / 2;
          for (size_t t = 0; t < tokens; ++t) {
            for (int32_t h = 0; h < heads; ++h) {
              double* head = out.data() + (t * heads + h) * head_dim;
              for (int32_t i = 0; i < half; ++i) {
                const double angle =
                    pass.positions[t] * std::pow(double(theta), -2.0 * i / rope_dims);
                const int32_t a = neox ? i : 2 * i, c = neox ? i + half : 2 * i + 1;
                const double x0 = head[a], x1 = head[c];
                head[a] = x0 * std::cos(angle) - x1 * std::sin(angle);
                head[c] = x0 * std::sin(angle) + x1 * std::cos(angle);
              }
            }
          }
          return out;
        };
        DeviceArray q_dev(*b, q), k_dev(*b, k);
        b->begin_pass(pass.info());
        b->rope(q_dev.get(), q_heads, k_dev.get(), k_heads, {head_dim, rope_dims, theta, neox});
        b->end_pass();
        CHECK(max_abs_error(q_dev.read(), rotate(q, q_heads)) <= 1e-5);
        CHECK(max_abs_error(k_dev.read(), rotate(k, k_heads)) <= 1e-5);
      }
    }
  }
}

TEST_CASE("conformance: gather_rows keeps the rows that want logits", "[backend][conformance]") {
  for (const Target& target : targets()) {
    INFO(target.name());
    auto b = create(target);
    std::mt19937 rng(13);
    const int64_t dim = 9;
    const auto x = random_values(6 * dim, rng);
    Pass pass;
    pass.positions = {0, 1, 2, 3, 4, 5};
    pass.logit_rows = {1, 3, 4};
    std::vector<double> want;
    for (int32_t r : pass.logit_rows) want.insert(want.end(), &x[r * dim], &x[(r + 1) * dim]);
    DeviceArray x_dev(*b, x), out(*b, want.size());
    b->begin_pass(pass.info());
    b->gather_rows(x_dev.get(), dim, out.get());
    b->gather_rows(x_dev.get(), dim, x_dev.get());  // in place
    b->end_pass();
    CHECK(max_abs_error(out.read(), want) == 0.0);
    auto in_place = x_dev.read();
    in_place.resize(want.size());
    CHECK(max_abs_error(in_place, want) == 0.0);
  }
}

namespace {

// The keys and values every layer holds for one sequence, as the reference sees them.
struct History {
  std::vector<std::vector<std::vector<float>>> k, v;  // [layer][position][kv_heads * head_dim]
};

// A paged cache filled pass by pass, checked against per-sequence histories.
class AttentionScenario {
 public:
  AttentionScenario(Backend& b, std::vector<int32_t> kv_heads, int32_t q_heads, int32_t head_dim,
                    int32_t block_tokens, TensorType element)
      : b_(b),
        kv_heads_(std::move(kv_heads)),
        q_heads_(q_heads),
        head_dim_(head_dim),
        element_(element),
        cache_(b, KvCacheLayout{kv_heads_, head_dim, block_tokens, element}, 1 << 20) {}

  KvCache& cache() { return cache_; }
  History& history(int32_t sequence) { return histories_[sequence]; }
  int32_t fork(int32_t parent) {
    const int32_t child = cache_.fork(parent);
    histories_[child] = histories_[parent];
    return child;
  }

  // One pass appending `rows` (sequence per row, in batch order): stores random K and V,
  // attends in every layer, and checks each output row against the reference.
  void run(const std::vector<int32_t>& rows, std::mt19937& rng) {
    Pass pass;
    std::vector<std::pair<int32_t, int32_t>> appends;  // (sequence, count), first-seen order
    for (int32_t s : rows) {
      auto it = std::find_if(appends.begin(), appends.end(), [&](auto& a) { return a.first == s; });
      if (it == appends.end()) {
        appends.emplace_back(s, 1);
      } else {
        ++it->second;
      }
    }
    std::vector<std::vector<int32_t>> slots(appends.size());
    std::vector<int32_t> offsets, lengths;
    for (size_t i = 0; i < appends.size(); ++i) {
      lengths.push_back(cache_.length(appends[i].first));
      cache_.append(appends[i].first, appends[i].second, slots[i]);
      offsets.push_back(static_cast<int32_t>(pass.tables.size()));
      auto table = cache_.block_table(appends[i].first);
      pass.tables.insert(pass.tables.end(), table.begin(), table.end());
    }
    std::vector<int32_t> used(appends.size(), 0);
    for (int32_t s : rows) {
      const size_t i =
          std::find_if(appends.begin(), appends.end(), [&](auto& a) { return a.first == s; }) -
          appends.begin();
      pass.tokens.push_back(0);
      pass.positions.push_back(lengths[i] + used[i]);
      pass.slots.push_back(slots[i][used[i]++]);
      pass.table_offsets.push_back(offsets[i]);
    }
    b_.begin_pass(pass.info());
    for (int32_t layer = 0; layer < int32_t(kv_heads_.size()); ++layer) {
      const size_t kv_row = size_t(kv_heads_[layer]) * head_dim_,
                   q_row = size_t(q_heads_) * head_dim_;
      const auto k = random_values(rows.size() * kv_row, rng);
      const auto v = random_values(rows.size() * kv_row, rng);
      const auto q = random_values(rows.size() * q_row, rng);
      for (size_t r = 0; r < rows.size(); ++r) {
        History& h = histories_[rows[r]];
        h.k.resize(kv_heads_.size());
        h.v.resize(kv_heads_.size());
        h.k[layer].emplace_back(k.begin() + r * kv_row, k.begin() + (r + 1) * kv_row);
        h.v[layer].emplace_back(v.begin() + r * kv_row, v.begin() + (r + 1) * kv_row);
      }
      DeviceArray k_dev(b_, k), v_dev(b_, v), q_dev(b_, q), out(b_, q.size());
      b_.kv_store(cache_.storage(), layer, k_dev.get(), v_dev.get());
      b_.attention(cache_.storage(), layer, q_dev.get(), q_heads_, out.get());
      std::vector<double> want;
      for (size_t r = 0; r < rows.size(); ++r) {
        for (int32_t h = 0; h < q_heads_; ++h) {
          auto head =
              reference(histories_[rows[r]], layer, q.data() + (r * q_heads_ + h) * head_dim_,
                        h / (q_heads_ / kv_heads_[layer]), pass.positions[r] + 1);
          want.insert(want.end(), head.begin(), head.end());
        }
      }
      INFO("layer " << layer << ", " << rows.size() << " rows");
      CHECK(max_abs_error(out.read(), want) <= (element_ == TensorType::f16 ? 2e-3 : 1e-5));
    }
    b_.end_pass();
  }

  // What the storage must hold for `sequence`, in the canonical form as f32.
  std::vector<float> expected_rows(int32_t sequence) const {
    const History& h = histories_.at(sequence);
    std::vector<float> out;
    for (size_t l = 0; l < kv_heads_.size(); ++l) {
      for (const auto* rows : {&h.k[l], &h.v[l]}) {
        for (const auto& row : *rows) {
          for (float x : row)
            out.push_back(element_ == TensorType::f16 ? f16_to_f32(f32_to_f16(x)) : x);
        }
      }
    }
    return out;
  }

 private:
  // Softmax attention of one query head over positions [0, context) of a history.
  std::vector<double> reference(const History& h, int32_t layer, const float* q, int32_t kv_head,
                                int32_t context) const {
    std::vector<double> scores(context), out(head_dim_, 0.0);
    double max_score = -1e300, sum = 0;
    for (int32_t p = 0; p < context; ++p) {
      double s = 0;
      for (int32_t d = 0; d < head_dim_; ++d) {
        s += double(q[d]) * h.k[layer][p][kv_head * head_dim_ + d];
      }
      scores[p] = s / std::sqrt(double(head_dim_));
      max_score = std::max(max_score, scores[p]);
    }
    for (auto& s : scores) sum += (s = std::exp(s - max_score));
    for (int32_t p = 0; p < context; ++p) {
      for (int32_t d = 0; d < head_dim_; ++d) {
        out[d] += scores[p] / sum * h.v[layer][p][kv_head * head_dim_ + d];
      }
    }
    return out;
  }

  Backend& b_;
  std::vector<int32_t> kv_heads_;
  int32_t q_heads_, head_dim_;
  TensorType element_;
  KvCache cache_;
  std::map<int32_t, History> histories_;
};

// read_rows of a sequence, widened to f32.
std::vector<float> stored_rows(const KvCache& cache, int32_t sequence) {
  const auto& desc = cache.storage().desc();
  const int32_t tokens = cache.length(sequence);
  std::vector<std::byte> bytes(desc.canonical_bytes(tokens));
  cache.storage().read_rows(cache.block_table(sequence), tokens, bytes.data());
  std::vector<float> out(bytes.size() / desc.element_bytes());
  for (size_t i = 0; i < out.size(); ++i) {
    if (desc.element == TensorType::f16) {
      uint16_t h;
      std::memcpy(&h, &bytes[i * 2], 2);
      out[i] = f16_to_f32(h);
    } else {
      std::memcpy(&out[i], &bytes[i * 4], 4);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("conformance: kv_store and attention over paged, forked, copied-on-write blocks",
          "[backend][conformance]") {
  for (const Target& target : targets()) {
    auto b = create(target);
    for (TensorType element : {TensorType::f32, TensorType::f16}) {
      // 8 and 64: the small-head and wide-head vector paths; 7 and 20 the others. Block
      // sizes of 16 (the vector paths) and 5.
      for (auto [head_dim, block_tokens] :
           {std::pair<int32_t, int32_t>{8, 16}, {64, 16}, {20, 16}, {7, 5}}) {
        INFO(target.name() << ", " << type_name(element) << " cache, head size " << head_dim
                           << ", blocks of " << block_tokens);
        // Three layers with 4, 2 and 1 KV heads for 4 query heads: MHA and two GQA groups.
        AttentionScenario s(*b, {4, 2, 1}, 4, head_dim, block_tokens, element);
        std::mt19937 rng(17);
        const int32_t a = s.cache().create();
        s.run(std::vector<int32_t>(21, a), rng);  // a prefill ending in a partial block
        const int32_t forked = s.fork(a);         // shares every block, the partial one too
        const int32_t fresh = s.cache().create();
        CHECK(s.cache().stats().shared_blocks > 0);
        // Three sequences in one pass, rows interleaved: `a` appends first and so writes into
        // a copy of the shared partial block; `forked` then owns the original alone.
        s.run({a, forked, fresh, a, forked, fresh, forked, fresh, fresh}, rng);
        CHECK(s.cache().block_table(a).back() != s.cache().block_table(forked).back());
        s.run({forked}, rng);  // decode
        for (int32_t seq : {a, forked, fresh}) {
          INFO("sequence " << seq);
          CHECK(stored_rows(s.cache(), seq) == s.expected_rows(seq));
        }
      }
    }
  }
}

TEST_CASE("conformance: KV rows round-trip through the canonical form; blocks copy",
          "[backend][conformance]") {
  for (const Target& target : targets()) {
    auto b = create(target);
    for (TensorType element : {TensorType::f32, TensorType::f16}) {
      INFO(target.name() << ", " << type_name(element) << " cache");
      backend::KvStorageDesc desc{{3, 1}, 12, 4, element, 9};
      auto storage = b->create_kv_storage(desc);
      CHECK(storage->byte_size() >= desc.block_bytes() * 9);
      CHECK(b->allocated_bytes() >= storage->byte_size());
      const std::vector<int32_t> blocks = {7, 2, 5};  // not in order
      const int32_t tokens = 10;                      // the last block half full
      std::vector<uint8_t> written(desc.canonical_bytes(tokens));
      std::mt19937 rng(19);
      std::uniform_real_distribution<float> value(-4.0f, 4.0f);
      for (size_t i = 0; i < written.size(); i += desc.element_bytes()) {
        const float v = value(rng);
        const uint16_t h = f32_to_f16(v);
        std::memcpy(&written[i], element == TensorType::f16 ? static_cast<const void*>(&h) : &v,
                    desc.element_bytes());
      }
      storage->write_rows(blocks, tokens, written.data());
      std::vector<uint8_t> read(written.size());
      storage->read_rows(blocks, tokens, read.data());
      CHECK(read == written);

      // A copied block reads back the same in place of the original.
      storage->copy_block(5, 0);
      storage->read_rows(std::vector<int32_t>{7, 2, 0}, tokens, read.data());
      CHECK(read == written);
      // Shorter reads are a prefix of each layer's K and V rows.
      std::vector<uint8_t> prefix(desc.canonical_bytes(3));
      storage->read_rows(std::vector<int32_t>{7}, 3, prefix.data());
      size_t at = 0, from = 0;
      for (size_t l = 0; l < desc.layer_kv_heads.size(); ++l) {
        const size_t row = desc.row_elements(l) * desc.element_bytes();
        for (int kv = 0; kv < 2; ++kv) {
          CHECK(std::memcmp(&prefix[at], &written[from], 3 * row) == 0);
          at += 3 * row;
          from += tokens * row;
        }
      }
    }
  }
}

TEST_CASE("conformance: the device reports its memory", "[backend][conformance]") {
  for (const Target& target : targets()) {
    INFO(target.name());
    auto b = create(target);
    const auto info = b->info();
    CHECK_FALSE(info.name.empty());
    CHECK(info.total_bytes > 0);
    CHECK(info.free_bytes <= info.total_bytes);
    const size_t before = b->allocated_bytes();
    {
      auto buffer = b->allocate(1 << 20);
      CHECK(b->allocated_bytes() >= before + (1 << 20));
    }
    CHECK(b->allocated_bytes() == before);
  }
}

TEST_CASE("conformance: the CPU backend is registered with every path this machine runs",
          "[backend][conformance]") {
  const auto* cpu = backend::find_backend("cpu");
  REQUIRE(cpu != nullptr);
  CHECK(backend::backends().front().name == "cpu");
  const auto paths = cpu->kernel_paths();
  REQUIRE_FALSE(paths.empty());
  CHECK(paths.front() == "reference");
  CHECK(backend::find_backend("no such device") == nullptr);
  CHECK_THROWS_WITH(cpu->create({1, "sse9"}), Catch::Contains("unknown kernel path"));
}

TEST_CASE("conformance: a backend that cannot run here says why and refuses to start",
          "[backend][conformance]") {
  for (const auto& entry : backend::backends()) {
    INFO(entry.name);
    if (!entry.kernel_paths().empty()) {
      CHECK(entry.unavailable_reason().empty());
      if (entry.name != "cpu") {  // a GPU backend: an index past its devices is refused
        CHECK_THROWS_WITH(entry.create({1, "", 999}), Catch::Contains("no such device"));
      }
      continue;
    }
    // The suite's cases above ran no target of this backend: the test output says so.
    const std::string why = entry.unavailable_reason();
    WARN(entry.name << " backend built in but not run here (" << why
                    << "): its conformance cases are skipped");
    CHECK_FALSE(why.empty());
    CHECK_THROWS_WITH(entry.create({1, "", 0}),
                      Catch::Contains(entry.name + ":0") && Catch::Contains(why));
  }
}
