// The cag plugin keeps a set up to date: a changed document recomputes only the KV from it
// on (counted through the tokens the build feeds the model, as the core reports them), with
// the same answers as a full rebuild; and what deployers and callers see of a set.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// The set's prefix length, through a query that is dropped again.
int64_t prefix_length(Engine& engine, const std::string& set) {
  const SequenceId probe = engine.knowledge_attach(set);
  const int64_t length = engine.sequence_length(probe);
  engine.drop_sequence(probe);
  return length;
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
    first_tokens = prefix_length(*engine, "stories");
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
  const int64_t total = prefix_length(*engine, "stories");
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
  const int64_t total = prefix_length(*engine, "stories");
  const int64_t kept = static_cast<int64_t>(engine->tokenize(kDocA, true, false).size());
  CHECK(update.forwarded_tokens <= total - kept + 2);
  // At least the added document; a separator both versions share may be kept.
  CHECK(update.forwarded_tokens >=
        static_cast<int64_t>(engine->tokenize(kDocB, false, false).size()));
  CHECK(engine->sequence_length(old_query) == before);  // a live query keeps what it had
  // ... and a reset cuts it back to the prefix it started from, not to the new one.
  BatchToken more{engine->tokenize(" Lily", false, false).front(), static_cast<int32_t>(before),
                  old_query, false};
  std::vector<float> ignored;
  engine->decode({&more, 1}, ignored);
  engine->knowledge_reset("stories", old_query);
  CHECK(engine->sequence_length(old_query) == before);
  auto fresh = load(kb);
  fresh->knowledge_build("stories", {});
  CHECK(after_prefix(*engine) == after_prefix(*fresh));

  // Documents given through the API update the same way.
  engine->knowledge_build("adhoc", {kDocA, kDocB});
  CHECK(engine->knowledge_build("adhoc", {kDocA, kDocB}).forwarded_tokens == 0);
  const int64_t grown = engine->knowledge_build("adhoc", {kDocA, kDocB, kDocC}).forwarded_tokens;
  CHECK(grown > 0);
  CHECK(grown < prefix_length(*engine, "adhoc") / 2);
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
  CHECK(progress.back().second == prefix_length(*engine, "stories"));
  auto after = describe();
  CHECK_THAT(after.find("loaded")->second, Catch::StartsWith("yes"));
  CHECK_THAT(after.find("cache")->second, Catch::StartsWith("valid"));
  kb.write("b.md", "Tom had a cat.");
  CHECK_THAT(describe().find("cache")->second,
             Catch::StartsWith("out of date") && Catch::Contains("b.md' changed"));
}

TEST_CASE("a cag cache file from a cache of another element type is refused or rebuilt") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  const OptionList refusing = {{"cache_dir", cache.path.string()}, {"on_stale", "refuse"}};
  load(kb, refusing)->knowledge_build("stories", {});  // f16 keys and values
  EngineOptions wide;
  wide.kv_cache_type = "f32";
  auto f32 = load(kb, refusing, hearth::test::model_path(), wide);
  CHECK_THAT(build_error(*f32),
             Catch::Contains("4-byte KV elements") || Catch::Contains("2-byte KV elements"));
  auto rebuilding =
      load(kb, {{"cache_dir", cache.path.string()}}, hearth::test::model_path(), wide);
  const int64_t total = rebuilding->knowledge_build("stories", {}).forwarded_tokens;
  CHECK(total == prefix_length(*rebuilding, "stories"));  // nothing of the f16 file is reused
  CHECK(build_error(*load(kb, refusing, hearth::test::model_path(), wide)).empty());
}

TEST_CASE("a cag manifest naming a file that is not its set's is not used, nor that file removed") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  const OptionList persisted = {{"cache_dir", cache.path.string()}};
  load(kb, persisted)->knowledge_build("stories", {});
  const fs::path manifest = cache.path / "stories.cag";
  const fs::path precious = cache.path / "precious.kv";
  { std::ofstream(precious) << "not the set's"; }
  // A well-formed manifest, checksum and all, that names the other file.
  std::ifstream in(manifest, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t kv = text.find("\nkv ") + 4;
  text = text.substr(0, kv) + "precious.kv\n";
  uint64_t h = 14695981039346656037ull;  // FNV-1a, as the manifest's checksum line
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char checksum[32];
  std::snprintf(checksum, sizeof checksum, "checksum %016llx\n",
                static_cast<unsigned long long>(h));
  std::ofstream(manifest, std::ios::binary | std::ios::trunc) << text << checksum;
  CHECK_THAT(build_error(*load(kb, {{"cache_dir", cache.path.string()}, {"on_stale", "refuse"}})),
             Catch::Contains("not this set's"));
  CHECK(build_error(*load(kb, persisted)).empty());  // rebuilt
  CHECK(fs::exists(precious));
}
