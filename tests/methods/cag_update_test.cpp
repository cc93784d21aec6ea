// The cag plugin keeps a set up to date: a changed document recomputes only the KV from it
// on (counted through the tokens the build feeds the model, as the core reports them), with
// the same answers as a full rebuild; and what deployers and callers see of a set.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "cag_fixture.h"
#include "hearth/engine.h"
#include "hearth/error.h"

using namespace hearth;
using namespace hearth::test::cag;

namespace {

const char* kDocC = "One day it rained. Lily and Tom stayed inside and read a book.";

// The metrics fixture that counts events (tests/plugins/test_counter.cpp).
EngineOptions with_counter() {
  EngineOptions o;
  PluginConfig counter;
  counter.name = "test_counter";
  counter.path = hearth::test::binary_path("tests/plugins/hearth-test_counter.so");
  o.plugins = {counter};
  return o;
}

std::string counted(Engine& engine, const std::string& key) {
  for (const auto& [k, v] : engine.metrics_snapshot()) {
    if (k == key) return v;
  }
  return "";
}

std::vector<int32_t> answer(Engine& engine, const std::string& question) {
  GenerationOptions g = greedy(12);
  g.knowledge_prefix = "stories";
  return engine.generate(engine.knowledge_compose("stories", question), g).tokens;
}

}  // namespace

TEST_CASE("updating the last cag document recomputes only its tokens, answers as a rebuild") {
  Folder kb, cache;
  kb.write("1.md", kDocA);
  kb.write("2.md", kDocB);
  kb.write("3.md", kDocC);
  const OptionList persisted = {{"cache_dir", cache.path.string()}};
  int64_t first_tokens = 0;
  {
    auto engine = load(kb, persisted, hearth::test::model_path(), with_counter());
    const KnowledgeBuildStats built = engine->knowledge_build("stories", {});
    first_tokens = engine->sequence_length(engine->knowledge_attach("stories"));
    CHECK(built.forwarded_tokens == first_tokens);  // the whole prefix, once
    CHECK(counted(*engine, "method_overhead") == "1");
    CHECK(counted(*engine, "last_overhead_tokens") == std::to_string(first_tokens));
  }
  {
    auto engine = load(kb, persisted, hearth::test::model_path(), with_counter());
    CHECK(engine->knowledge_build("stories", {}).forwarded_tokens == 0);  // loaded
    CHECK(counted(*engine, "last_overhead_tokens") == "0");
  }

  const std::string changed = std::string(kDocC) + " The book was about a brave little fish.";
  kb.write("3.md", changed);
  auto engine = load(kb, persisted, hearth::test::model_path(), with_counter());
  const KnowledgeBuildStats update = engine->knowledge_build("stories", {});
  // What the first two documents and their separator tokenize to stays; the rest is new.
  const int64_t kept = static_cast<int64_t>(
      engine->tokenize(std::string(kDocA) + "\n\n" + kDocB, true, false).size());
  const int64_t total = engine->sequence_length(engine->knowledge_attach("stories"));
  const int64_t last_document = total - kept;
  CAPTURE(first_tokens, kept, total);
  CHECK(update.forwarded_tokens > 0);
  CHECK(update.forwarded_tokens <= last_document + 2);  // its tokens (and the "\n\n" between)
  CHECK(update.forwarded_tokens < total / 2);
  CHECK(counted(*engine, "last_overhead_tokens") == std::to_string(update.forwarded_tokens));

  Folder fresh_cache;
  auto rebuilt = load(kb, {{"cache_dir", fresh_cache.path.string()}});
  CHECK(rebuilt->knowledge_build("stories", {}).forwarded_tokens == total);
  CHECK(after_prefix(*engine) == after_prefix(*rebuilt));
  for (const std::string question : {"What did Lily and Tom read?", "Who was Max?"}) {
    CAPTURE(question);
    CHECK(answer(*engine, question) == answer(*rebuilt, question));
  }
  // The rewritten cache serves the next start whole, and the old KV file is gone.
  CHECK(files_in(cache.path).size() == 2);
  CHECK(load(kb, persisted)->knowledge_build("stories", {}).forwarded_tokens == 0);
}

TEST_CASE("an added cag document, and a rebuild in the same process, recompute from it on") {
  Folder kb;
  kb.write("1.md", kDocA);
  kb.write("2.md", kDocC);
  auto engine = load(kb);
  const int64_t before = engine->knowledge_build("stories", {}).forwarded_tokens;
  const SequenceId old_query = engine->knowledge_attach("stories");  // holds the old prefix
  kb.write("1b.md", kDocB);  // sorts between the two: everything after 1.md is new
  const KnowledgeBuildStats update = engine->knowledge_build("stories", {});
  const int64_t total = engine->sequence_length(engine->knowledge_attach("stories"));
  const int64_t kept = static_cast<int64_t>(engine->tokenize(kDocA, true, false).size());
  CHECK(update.forwarded_tokens <= total - kept + 2);
  // At least the added document; a separator both versions share may be kept.
  CHECK(update.forwarded_tokens >=
        static_cast<int64_t>(engine->tokenize(kDocB, false, false).size()));
  CHECK(engine->sequence_length(old_query) == before);  // a live query keeps what it had
  auto fresh = load(kb);
  fresh->knowledge_build("stories", {});
  CHECK(after_prefix(*engine) == after_prefix(*fresh));

  // Documents given through the API update the same way.
  engine->knowledge_build("adhoc", {kDocA, kDocB});
  CHECK(engine->knowledge_build("adhoc", {kDocA, kDocB}).forwarded_tokens == 0);
  const int64_t grown = engine->knowledge_build("adhoc", {kDocA, kDocB, kDocC}).forwarded_tokens;
  CHECK(grown > 0);
  CHECK(grown < engine->sequence_length(engine->knowledge_attach("adhoc")) / 2);
}

TEST_CASE("cag composes questions into the template and describes its sets") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  kb.write("b.md", kDocB);
  std::vector<std::pair<std::string, int64_t>> progress;
  EngineOptions base;
  base.on_progress = [&](const std::string& task, int64_t done, int64_t total) {
    progress.emplace_back(task, done);
    CHECK(done <= total);
  };
  auto engine = load(kb, {{"cache_dir", cache.path.string()}, {"chunk_tokens", "8"}},
                     hearth::test::model_path(), base);
  CHECK(engine->knowledge_compose("stories", "Who was Max?") == "Who was Max?\nAnswer:");
  CHECK_THROWS_WITH(engine->knowledge_compose("nothing", "Q"),
                    Catch::Contains("no knowledge set named 'nothing'"));
  CHECK(engine->knowledge_sets() == std::vector<std::string>{"stories"});

  auto describe = [&] {
    std::multimap<std::string, std::string> out;
    for (auto& [k, v] : engine->knowledge_describe("stories")) out.emplace(k, v);
    return out;
  };
  auto before = describe();
  CHECK(before.find("set")->second == "stories");
  CHECK(before.find("loaded")->second == "no");
  CHECK(before.find("documents")->second.rfind("2 (", 0) == 0);
  CHECK(before.count("document") == 2);
  CHECK_THAT(before.find("cache")->second, Catch::StartsWith("absent"));

  engine->knowledge_build("stories", {});
  REQUIRE(progress.size() >= 2);  // one report per pass of chunk_tokens
  CHECK(progress.front().first == "cag: stories");
  CHECK(progress.back().second == engine->sequence_length(engine->knowledge_attach("stories")));
  auto after = describe();
  CHECK_THAT(after.find("loaded")->second, Catch::StartsWith("yes"));
  CHECK_THAT(after.find("cache")->second, Catch::StartsWith("valid"));
  kb.write("b.md", "Tom had a cat.");
  CHECK_THAT(describe().find("cache")->second,
             Catch::StartsWith("out of date") && Catch::Contains("b.md' changed"));
}
