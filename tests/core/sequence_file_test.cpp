// KV sequence files: what they hold, that they come back exactly, across cache element
// types, from the previous format version, and that damage anywhere is caught.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gguf/fp16.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"
#include "util/checksum.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path path = fs::temp_directory_path() /
                  ("hearth-seqfile-" + std::to_string(std::random_device{}()) + ".kv");
  ~Scratch() { fs::remove(path); }
};

std::unique_ptr<Engine> load(const std::string& kv_type) {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 256;
  o.kv_cache_type = kv_type;
  return Engine::load(o);
}

// A sequence holding a short story, and the logits of one more token after it.
SequenceId story(Engine& engine) {
  const SequenceId s = engine.create_sequence();
  engine.prefill(s, engine.tokenize("Once upon a time there was a girl named Lily.", true, false));
  return s;
}

std::vector<float> next_logits(Engine& engine, SequenceId s) {
  BatchToken row{engine.tokenize(" She", false, false).front(), engine.sequence_length(s), s, true};
  std::vector<float> logits;
  engine.decode({&row, 1}, logits);
  engine.truncate_sequence(s, row.position);
  return logits;
}

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

constexpr size_t kHeader = 64, kLayers = 5;  // stories260K: 5 layers, 4 KV heads of 8

std::string load_error(Engine& engine, const fs::path& path) {
  try {
    engine.drop_sequence(engine.load_sequence(path.string()));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a sequence file holds the cache's own elements and comes back exactly", "[kv]") {
  for (const std::string type : {"f16", "f32"}) {
    CAPTURE(type);
    auto engine = load(type);
    const SequenceId s = story(*engine);
    const int32_t length = engine->sequence_length(s);
    const std::vector<float> before = next_logits(*engine, s);
    Scratch file;
    engine->save_sequence(s, file.path.string());
    const size_t element = type == "f16" ? 2 : 4;
    const size_t payload = kLayers * 2 * size_t(length) * 4 * 8 * element;
    CHECK(fs::file_size(file.path) == kHeader + kLayers * 4 + 8 + payload);
    const SequenceId back = engine->load_sequence(file.path.string());
    CHECK(engine->sequence_length(back) == length);
    CHECK(next_logits(*engine, back) == before);
  }
}

TEST_CASE("a sequence file loads into a cache of the other element type", "[kv]") {
  auto f16 = load("f16");
  auto f32 = load("f32");
  Scratch from16, from32;
  f16->save_sequence(story(*f16), from16.path.string());
  f32->save_sequence(story(*f32), from32.path.string());
  // Either way the continuation matches the cache's own, within f16 rounding (the new
  // token's key and value are kept in each cache's own type).
  auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::abs(a[i] - b[i]) > 2e-2f) return false;
    }
    return true;
  };
  CHECK(close(next_logits(*f32, f32->load_sequence(from16.path.string())),
              next_logits(*f32, story(*f32))));
  CHECK(close(next_logits(*f16, f16->load_sequence(from32.path.string())),
              next_logits(*f16, story(*f16))));
}

TEST_CASE("a version 1 sequence file (f32, position-major, FNV-1a) still loads", "[kv]") {
  auto engine = load("f32");
  const SequenceId s = story(*engine);
  const int32_t tokens = engine->sequence_length(s);
  const std::vector<float> before = next_logits(*engine, s);
  Scratch v2, v1;
  engine->save_sequence(s, v2.path.string());
  const std::string saved = bytes_of(v2.path);
  // The canonical payload (per layer: K rows of every position, then V rows) rewritten in
  // version 1's order (per layer and position: K row, then V row).
  const size_t row = 4 * 8, body = kHeader + kLayers * 4 + 8;
  const auto* canonical = reinterpret_cast<const float*>(saved.data() + body);
  std::vector<float> payload(kLayers * 2 * size_t(tokens) * row);
  for (size_t layer = 0; layer < kLayers; ++layer) {
    const float* c = canonical + layer * 2 * tokens * row;
    float* f = payload.data() + layer * 2 * tokens * row;
    for (int32_t p = 0; p < tokens; ++p) {
      for (int kv = 0; kv < 2; ++kv) {
        std::memcpy(f + (2 * size_t(p) + kv) * row, c + (kv * size_t(tokens) + p) * row,
                    row * sizeof(float));
      }
    }
  }
  std::string header = saved.substr(0, 56);
  const uint32_t version = 1;
  std::memcpy(header.data() + 8, &version, 4);
  util::Fnv1a payload_sum;
  payload_sum.update(payload.data(), payload.size() * sizeof(float));
  const uint64_t payload_checksum = payload_sum.digest();
  std::memcpy(header.data() + 48, &payload_checksum, 8);
  const std::string heads = saved.substr(kHeader, kLayers * 4);
  util::Fnv1a header_sum;
  header_sum.update(header.data(), header.size());
  header_sum.update(heads.data(), heads.size());
  const uint64_t header_checksum = header_sum.digest();
  {
    std::ofstream out(v1.path, std::ios::binary);
    out << header << heads;
    out.write(reinterpret_cast<const char*>(&header_checksum), 8);
    out.write(reinterpret_cast<const char*>(payload.data()), payload.size() * sizeof(float));
  }
  const SequenceId back = engine->load_sequence(v1.path.string());
  CHECK(engine->sequence_length(back) == tokens);
  CHECK(next_logits(*engine, back) == before);
  auto f16 = load("f16");
  CHECK(load_error(*f16, v1.path).empty());  // narrowed on the way in
}

TEST_CASE("a flipped bit anywhere in a sequence file, or a cut, is refused", "[kv]") {
  auto engine = load("f16");
  Scratch file;
  engine->save_sequence(story(*engine), file.path.string());
  const std::string good = bytes_of(file.path);
  std::mt19937 random(20261202);
  for (int trial = 0; trial < 64; ++trial) {
    std::string bad = good;
    const size_t at = random() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 << (random() % 8)));
    std::ofstream(file.path, std::ios::binary | std::ios::trunc) << bad;
    CAPTURE(at);
    CHECK_FALSE(load_error(*engine, file.path).empty());
  }
  for (size_t cut :
       {size_t{0}, size_t{10}, size_t{60}, kHeader + 4, good.size() / 2, good.size() - 1}) {
    std::ofstream(file.path, std::ios::binary | std::ios::trunc) << good.substr(0, cut);
    CAPTURE(cut);
    CHECK_FALSE(load_error(*engine, file.path).empty());
  }
  std::ofstream(file.path, std::ios::binary | std::ios::trunc) << good;
  CHECK(load_error(*engine, file.path).empty());
}
