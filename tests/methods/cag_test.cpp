// The cag plugin, loaded from disk: answers on a knowledge prefix against prefilling the same
// tokens from scratch, resets, concurrent queries and refusals.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

struct Folder {
  fs::path path =
      fs::temp_directory_path() / ("hearth-cag-kb-" + std::to_string(std::random_device{}()));
  Folder() { fs::create_directories(path); }
  ~Folder() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

const char* kDocA = "Lily had a red ball. She played with it in the park every day.";
const char* kDocB = "Tom was her friend. He had a big dog named Max.";
const char* kTemplate = "{documents}\nQuestion: {question}\nAnswer:";

std::unique_ptr<Engine> load(const Folder& kb,
                             std::vector<std::pair<std::string, std::string>> extra = {}) {
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.context_size = 512;
  PluginConfig cag;
  cag.name = "cag";
  cag.path = test::binary_path("lib/hearth/plugins/hearth-cag.so");
  cag.options = {{"stories.documents", kb.path.string()},
                 {"stories.template", kTemplate},
                 {"query_tokens", "64"}};
  for (auto& e : extra) cag.options.push_back(std::move(e));
  o.plugins = {cag};
  return Engine::load(o);
}

GenerationOptions greedy(int n) {
  GenerationOptions g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  g.strategy = "sampling";
  return g;
}

}  // namespace

TEST_CASE("answers on a cag prefix equal prefilling documents and question from scratch") {
  Folder kb;
  kb.write("a.md", kDocA);
  kb.write("b.txt", kDocB);
  auto engine = load(kb);
  engine->knowledge_build("stories", {});
  const std::vector<int32_t> prefix_tokens =
      engine->tokenize(std::string(kDocA) + "\n\n" + kDocB + "\nQuestion: ", true, false);
  const SequenceId probe = engine->knowledge_attach("stories");
  CHECK(engine->sequence_length(probe) == static_cast<int32_t>(prefix_tokens.size()));
  engine->drop_sequence(probe);

  // Several questions in a row: each starts from the prefix alone.
  for (const std::string question :
       {"What did Lily have?", "Who was Max?", "What did Lily have?"}) {
    CAPTURE(question);
    const std::string asked = question + "\nAnswer:";
    GenerationOptions on_prefix = greedy(16);
    on_prefix.knowledge_prefix = "stories";
    const GenerationResult answer = engine->generate(asked, on_prefix);
    std::vector<int32_t> scratch = prefix_tokens;
    for (int32_t t : engine->tokenize(asked, false, false)) scratch.push_back(t);
    const GenerationResult expected = engine->generate_tokens(scratch, greedy(16));
    CHECK(answer.tokens == expected.tokens);
    CHECK(answer.stats.prompt_tokens < expected.stats.prompt_tokens);  // only the question
  }
  CHECK(engine->kv_cache_stats().used_blocks > 0);  // the prefix stays
}

TEST_CASE("a cag prefix is shared by concurrent queries and reset exactly") {
  Folder kb;
  kb.write("a.md", kDocA);
  auto engine = load(kb);
  engine->knowledge_build("stories", {});
  const SequenceId a = engine->knowledge_attach("stories");
  const SequenceId b = engine->knowledge_attach("stories");
  const int32_t prefix = engine->sequence_length(a);
  CHECK(engine->kv_cache_stats().shared_blocks > 0);
  const int32_t token = engine->tokenize(" Lily", false, false).front();
  std::vector<float> first, again;
  BatchToken row{token, prefix, a, true};
  engine->decode({&row, 1}, first);
  for (int i = 1; i < 5; ++i) {
    BatchToken more{token, prefix + i, a, true};
    std::vector<float> ignored;
    engine->decode({&more, 1}, ignored);
  }
  engine->knowledge_reset("stories", a);
  CHECK(engine->sequence_length(a) == prefix);
  engine->decode({&row, 1}, again);
  CHECK(again == first);
  row.sequence = b;
  std::vector<float> other;
  engine->decode({&row, 1}, other);
  CHECK(other == first);
}

TEST_CASE("cag refuses unknown sets and sets that leave no room, with the numbers") {
  Folder kb;
  std::string big;
  for (int i = 0; i < 60; ++i) big += std::string(kDocA) + " ";
  kb.write("big.md", big);
  auto engine = load(kb, {{"query_tokens", "256"}});
  CHECK_THROWS_WITH(
      engine->knowledge_build("other", {}),
      Catch::Contains("no knowledge set named 'other'") && Catch::Contains("stories"));
  CHECK_THROWS_WITH(engine->knowledge_build("stories", {}), Catch::Contains("'stories'") &&
                                                                Catch::Contains("context of 512") &&
                                                                Catch::Contains("query_tokens"));
  CHECK(engine->kv_cache_stats().used_blocks == 0);
  Folder missing;
  fs::remove_all(missing.path);
  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  PluginConfig cag;
  cag.name = "cag";
  cag.path = test::binary_path("lib/hearth/plugins/hearth-cag.so");
  cag.options = {{"stories.documents", missing.path.string()}};
  o.plugins = {cag};
  auto engine2 = Engine::load(o);
  CHECK_THROWS_WITH(engine2->knowledge_build("stories", {}),
                    Catch::Contains(missing.path.string()) && Catch::Contains("does not exist"));
}
