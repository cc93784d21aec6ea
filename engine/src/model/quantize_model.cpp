#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>

#include "gguf/dequantize.h"
#include "gguf/gguf_file.h"
#include "hearth/error.h"
#include "hearth/quantize.h"
#include "model/model_file_writer.h"

namespace hearth {
namespace {

// What a matrix is, for a mixture's exceptions.
struct MatrixRole {
  std::string_view name;
  int64_t layer;   // blk.N: N, else -1
  int64_t layers;  // blocks in the model
  int64_t gqa;     // query heads per KV head (1 for multi-head attention)
};

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The layers that get more bits in the _M mixtures: the first and last eighth, and every
// third in between.
bool more_bits(const MatrixRole& m) {
  const int64_t n = m.layers;
  return m.layer < n / 8 || m.layer >= 7 * n / 8 || (m.layer - n / 8) % 3 == 2;
}

bool is_attn_v(const MatrixRole& m) { return m.layer >= 0 && ends_with(m.name, "attn_v.weight"); }
bool is_ffn_down(const MatrixRole& m) {
  return m.layer >= 0 && ends_with(m.name, "ffn_down.weight");
}
bool is_attn_output(const MatrixRole& m) {
  return m.layer >= 0 && ends_with(m.name, "attn_output.weight");
}
bool is_attn_qkv(const MatrixRole& m) {
  return m.layer >= 0 && ends_with(m.name, "attn_qkv.weight");
}

// A mixture's exceptions to its base type (llama.cpp's rules for a dense model), for every
// matrix but output.weight. The plain types have none.
using Exceptions = TensorType (*)(const MatrixRole&, TensorType base);

TensorType no_exceptions(const MatrixRole&, TensorType base) { return base; }

TensorType q2_K_m(const MatrixRole& m, TensorType base) {
  if (is_attn_v(m)) return m.gqa >= 4 ? TensorType::q4_K : TensorType::q3_K;
  if (is_ffn_down(m) || is_attn_output(m)) return TensorType::q3_K;
  return base;
}

TensorType q2_K_s(const MatrixRole& m, TensorType base) {
  if (is_attn_v(m) && m.gqa >= 4) return TensorType::q4_K;
  if (is_ffn_down(m) && m.layer < m.layers / 8) return TensorType::q4_K;
  return base;
}

TensorType q3_K_m(const MatrixRole& m, TensorType base) {
  if (is_attn_v(m)) return m.layer < 2 ? TensorType::q5_K : TensorType::q4_K;
  if (is_ffn_down(m)) return m.layer < m.layers / 16 ? TensorType::q5_K : TensorType::q4_K;
  if (is_attn_output(m) || is_attn_qkv(m)) return TensorType::q4_K;
  return base;
}

TensorType q3_K_l(const MatrixRole& m, TensorType base) {
  if (is_attn_v(m) || is_ffn_down(m) || is_attn_output(m)) return TensorType::q5_K;
  if (is_attn_qkv(m)) return TensorType::q4_K;
  return base;
}

TensorType q4_K_s(const MatrixRole& m, TensorType base) {
  if (is_attn_v(m) && m.layer < 4) return TensorType::q5_K;
  if (is_ffn_down(m) && m.layer < m.layers / 8) return TensorType::q5_K;
  return base;
}

TensorType q4_K_m(const MatrixRole& m, TensorType base) {
  if ((is_attn_v(m) || is_ffn_down(m)) && more_bits(m)) return TensorType::q6_K;
  if (is_attn_qkv(m)) return TensorType::q5_K;
  return base;
}

TensorType q5_K_m(const MatrixRole& m, TensorType base) {
  if ((is_attn_v(m) || is_ffn_down(m)) && more_bits(m)) return TensorType::q6_K;
  if (is_attn_qkv(m)) return TensorType::q6_K;
  return base;
}

struct Recipe {
  std::string_view name;
  TensorType base;
  uint32_t file_type;  // general.file_type as llama.cpp numbers its mixtures
  Exceptions exceptions;
};

constexpr Recipe kRecipes[] = {
    {"f32", TensorType::f32, 0, no_exceptions},
    {"f16", TensorType::f16, 1, no_exceptions},
    {"bf16", TensorType::bf16, 32, no_exceptions},
    {"q8_0", TensorType::q8_0, 7, no_exceptions},
    {"q4_0", TensorType::q4_0, 2, no_exceptions},
    {"q4_1", TensorType::q4_1, 3, no_exceptions},
    {"q5_0", TensorType::q5_0, 8, no_exceptions},
    {"q5_1", TensorType::q5_1, 9, no_exceptions},
    {"q2_K", TensorType::q2_K, 10, no_exceptions},
    {"q3_K", TensorType::q3_K, 11, no_exceptions},
    {"iq4_nl", TensorType::iq4_nl, 25, no_exceptions},
    {"iq4_xs", TensorType::iq4_xs, 30, no_exceptions},
    {"q4_K", TensorType::q4_K, 15, no_exceptions},
    {"q5_K", TensorType::q5_K, 17, no_exceptions},
    {"q6_K", TensorType::q6_K, 18, no_exceptions},
    // llama.cpp calls this one Q2_K; here q2_K is Q2_K everywhere, as the other plain types.
    {"q2_K_M", TensorType::q2_K, 10, q2_K_m},
    {"q2_K_S", TensorType::q2_K, 21, q2_K_s},
    // Q3_K_S's only exception is output.weight's, as the plain types'.
    {"q3_K_S", TensorType::q3_K, 11, no_exceptions},
    {"q3_K_M", TensorType::q3_K, 12, q3_K_m},
    {"q3_K_L", TensorType::q3_K, 13, q3_K_l},
    {"q4_K_M", TensorType::q4_K, 15, q4_K_m},
    {"q4_K_S", TensorType::q4_K, 14, q4_K_s},
    {"q5_K_M", TensorType::q5_K, 17, q5_K_m},
    {"q5_K_S", TensorType::q5_K, 16, no_exceptions},
};

const Recipe& find_recipe(const std::string& name) {
  for (const Recipe& r : kRecipes) {
    if (r.name == name) return r;
  }
  std::string known;
  for (const Recipe& r : kRecipes) known += (known.empty() ? "" : ", ") + std::string(r.name);
  throw Error("quantize: unknown type '" + name + "' (one of " + known + ")");
}

// blk.N.<name>: the layer number, or -1.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  const size_t dot = name.find('.', 4);
  try {
    return std::stoll(name.substr(4, dot - 4));
  } catch (const std::exception&) {
    return -1;
  }
}

// The type of one matrix under a recipe: the base type, the mixture's exceptions, and a
// fallback where the width does not hold whole blocks of the chosen type.
TensorType choose_type(const Recipe& r, bool pure, const MatrixRole& matrix, int64_t cols) {
  TensorType type = r.base;
  const bool low_bits = r.base != TensorType::f32 && r.base != TensorType::f16 &&
                        r.base != TensorType::bf16 && r.base != TensorType::q8_0 &&
                        r.base != TensorType::q6_K;
  if (!pure && low_bits) {
    type = matrix.name == "output.weight" ? TensorType::q6_K : r.exceptions(matrix, r.base);
  }
  const auto traits = tensor_type_traits(static_cast<uint32_t>(type));
  if (cols % traits->block_values != 0) {
    // As llama.cpp falls back: to the nearest format with blocks of 32.
    switch (type) {
      case TensorType::q4_K:
        type = TensorType::q5_0;
        break;
      case TensorType::q5_K:
        type = TensorType::q5_1;
        break;
      case TensorType::q6_K:
        type = TensorType::q8_0;
        break;
      case TensorType::q2_K:
      case TensorType::q3_K:
      case TensorType::iq4_xs:
        type = TensorType::iq4_nl;
        break;
      default:
        break;
    }
    if (cols % tensor_type_traits(static_cast<uint32_t>(type))->block_values != 0) {
      type = TensorType::f16;
    }
  }
  return type;
}

// Query heads per KV head, from the architecture's metadata (1 where it is absent).
int64_t query_heads_per_kv_head(const gguf::File& file) {
  const auto arch = file.get_string("general.architecture");
  if (!arch) return 1;
  const auto heads = file.get_uint(*arch + ".attention.head_count");
  const auto kv_heads = file.get_uint(*arch + ".attention.head_count_kv");
  if (!heads || !kv_heads || *kv_heads == 0) return 1;
  return static_cast<int64_t>(*heads / *kv_heads);
}

bool is_float(TensorType t) {
  return t == TensorType::f32 || t == TensorType::f16 || t == TensorType::bf16;
}

StoredWeight convert(const gguf::TensorInfo& t, TensorType type, int threads) {
  const int64_t cols = t.dims[0], rows = t.element_count / cols;
  const auto in = *tensor_type_traits(t.type_id);
  const auto out = *tensor_type_traits(static_cast<uint32_t>(type));
  const size_t in_row = static_cast<size_t>(cols / in.block_values) * in.block_bytes;
  const size_t out_row = static_cast<size_t>(cols / out.block_values) * out.block_bytes;
  StoredWeight w;
  w.type = type;
  w.bytes.resize(out_row * static_cast<size_t>(rows));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  auto work = [&] {
    std::vector<float> values(static_cast<size_t>(cols));
    try {
      for (int64_t r; (r = next.fetch_add(64)) < rows;) {
        for (int64_t i = r; i < std::min(rows, r + 64); ++i) {
          dequantize_row(t.type(), t.data + static_cast<size_t>(i) * in_row, cols, values.data());
          quantize_row(type, values.data(), cols,
                       w.bytes.data() + static_cast<size_t>(i) * out_row);
        }
      }
    } catch (const std::exception& e) {
      if (!failed.exchange(true)) failure = e.what();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (std::thread& th : pool) th.join();
  if (failed) throw Error("quantize: tensor '" + t.name + "': " + failure);
  return w;
}

}  // namespace

std::vector<std::string> quantize_type_names() {
  std::vector<std::string> names;
  for (const Recipe& r : kRecipes) names.emplace_back(r.name);
  return names;
}

QuantizeStats quantize_model(const QuantizeOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (options.input.empty()) throw Error("quantize: no input model");
  if (options.output.empty()) throw Error("quantize: no output file");
  const Recipe& recipe = find_recipe(options.type);
  const auto file = gguf::File::open(options.input);
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int64_t layers = 0;
  for (const gguf::TensorInfo& t : file->tensors()) layers = std::max(layers, layer_of(t.name) + 1);
  const int64_t gqa = query_heads_per_kv_head(*file);

  QuantizeStats stats;
  std::map<std::string, StoredWeight> retyped;
  int64_t done = 0;
  const auto total = static_cast<int64_t>(file->tensors().size());
  for (const gguf::TensorInfo& t : file->tensors()) {
    gguf::File::require_supported(*file, t);
    ++stats.tensors;
    stats.input_bytes += t.byte_size;
    TensorType type = t.type();
    if (t.dims.size() == 2) {
      if (!is_float(t.type())) {
        throw Error(options.input + ": tensor '" + t.name + "' is " + tensor_type_name(t.type_id) +
                    ": quantize reads F32, F16 and BF16 models only");
      }
      type = choose_type(recipe, options.pure, {t.name, layer_of(t.name), layers, gqa}, t.dims[0]);
      if (type != t.type()) {
        retyped.emplace(t.name, convert(t, type, threads));
        stats.output_bytes += retyped.at(t.name).bytes.size();
        ++stats.converted;
      } else {
        stats.output_bytes += t.byte_size;
      }
    } else {
      stats.output_bytes += t.byte_size;
    }
    ++stats.tensors_per_type[tensor_type_name(static_cast<uint32_t>(type))];
    if (options.on_progress) options.on_progress(++done, total);
  }
  MetadataChanges changes;
  changes.uints["general.file_type"] = recipe.file_type;
  write_model_file(*file, retyped, changes, options.output);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

}  // namespace hearth
