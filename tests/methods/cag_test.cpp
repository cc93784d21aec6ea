// The cag plugin, loaded from disk: answers on a knowledge prefix against prefilling the same
// tokens from scratch, resets, concurrent queries and refusals.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cag_fixture.h"
#include "hearth/engine.h"
#include "hearth/error.h"
#include "synthetic_model.h"
#include "test_paths.h"

using namespace hearth;
using namespace hearth::test::cag;

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
    // Only the question is prefilled: its tokens, without BOS.
    CHECK(answer.stats.prompt_tokens ==
          static_cast<int32_t>(engine->tokenize(asked, false, false).size()));
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

TEST_CASE("a cag cache file is written once and read back instead of recomputed") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  kb.write("b.md", kDocB);
  const std::vector<std::pair<std::string, std::string>> persisted = {
      {"cache_dir", cache.path.string()}, {"on_stale", "refuse"}};
  std::vector<float> built;
  {
    auto engine = load(kb, persisted);
    engine->knowledge_build("stories", {});
    built = after_prefix(*engine);
  }
  const std::vector<fs::path> written = files_in(cache.path);
  REQUIRE(written.size() == 2);  // the manifest and its KV file, no temporaries left
  const fs::path kv = written[0].extension() == ".kv" ? written[0] : written[1];
  CHECK(kv.extension() == ".kv");
  CHECK(fs::exists(cache.path / "stories.cag"));
  const auto stamp = fs::last_write_time(kv);

  auto engine = load(kb, persisted);
  engine->knowledge_build("stories", {});
  CHECK(after_prefix(*engine) == built);
  CHECK(files_in(cache.path) == written);
  CHECK(fs::last_write_time(kv) == stamp);  // read, not rewritten

  // The restored prefix is the same cache, byte for byte, and answers the same.
  Folder again;
  const fs::path resaved = again.path / "stories.kv";
  engine->knowledge_save("stories", resaved.string());
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  CHECK(bytes(resaved) == bytes(kv));
  auto fresh = load(kb);
  fresh->knowledge_build("stories", {});
  GenerationOptions g = greedy(16);
  g.knowledge_prefix = "stories";
  const std::string asked = engine->knowledge_compose("stories", "Who was Max?");
  CHECK(engine->generate(asked, g).tokens == fresh->generate(asked, g).tokens);
}

TEST_CASE("a stale or damaged cag cache file is refused or rebuilt, naming file and reason") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  kb.write("b.md", kDocB);
  auto with = [&](const char* on_stale) {
    return std::vector<std::pair<std::string, std::string>>{{"cache_dir", cache.path.string()},
                                                            {"on_stale", on_stale}};
  };
  load(kb, with("rebuild"))->knowledge_build("stories", {});
  const fs::path manifest = cache.path / "stories.cag";
  REQUIRE(fs::exists(manifest));

  SECTION("a changed document") {
    kb.write("b.md", std::string(kDocB) + " Max liked to run.");
    auto refusing = load(kb, with("refuse"));
    CHECK_THAT(build_error(*refusing), Catch::Contains(manifest.string()) &&
                                           Catch::Contains("b.md' changed") &&
                                           Catch::Contains("refuse"));
    auto rebuilding = load(kb, with("rebuild"));
    CHECK(build_error(*rebuilding).empty());
    auto fresh = load(kb);  // no cache at all
    fresh->knowledge_build("stories", {});
    CHECK(after_prefix(*rebuilding) == after_prefix(*fresh));
    CHECK(build_error(*load(kb, with("refuse"))).empty());  // the rewritten file serves
  }
  SECTION("another model") {
    auto other = load(kb, with("refuse"), test::mha_model_path());
    CHECK_THAT(build_error(*other), Catch::Contains("another model"));
  }
  SECTION("a bit flipped in the KV file") {
    fs::path kv;
    for (const fs::path& f : files_in(cache.path)) {
      if (f.extension() == ".kv") kv = f;
    }
    {
      std::fstream f(kv, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-5, std::ios::end);
      f.put('\x5a');
    }
    CHECK_THAT(build_error(*load(kb, with("refuse"))),
               Catch::Contains("KV file cannot be used") && Catch::Contains("damaged"));
    auto rebuilding = load(kb, with("rebuild"));
    CHECK(build_error(*rebuilding).empty());
    CHECK(build_error(*load(kb, with("refuse"))).empty());
  }
  SECTION("a manifest far too large to be one") {
    fs::resize_file(manifest, fs::file_size(manifest) + (uintmax_t{65} << 20));  // sparse
    CHECK_THAT(build_error(*load(kb, with("refuse"))), Catch::Contains("larger than any manifest"));
    CHECK(build_error(*load(kb, with("rebuild"))).empty());
    CHECK(fs::file_size(manifest) < 4096);  // rewritten
  }
  SECTION("a truncated or edited manifest") {
    std::ifstream in(manifest, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::ofstream(manifest, std::ios::binary | std::ios::trunc) << text.substr(0, text.size() / 2);
    CHECK_THAT(build_error(*load(kb, with("refuse"))), Catch::Contains("truncated"));
    std::string edited = text;
    edited[edited.find("tokens ") + 7] ^= 1;
    std::ofstream(manifest, std::ios::binary | std::ios::trunc) << edited;
    CHECK_THAT(build_error(*load(kb, with("refuse"))), Catch::Contains("checksum does not match"));
  }
}

TEST_CASE("two builders of one set into one cache folder at once leave one valid pair") {
  Folder kb, cache;
  kb.write("a.md", kDocA);
  kb.write("b.md", kDocB);
  const std::vector<std::pair<std::string, std::string>> persisted = {
      {"cache_dir", cache.path.string()}, {"on_stale", "refuse"}};
  auto first = load(kb, persisted);
  auto second = load(kb, persisted);
  std::string errors[2];
  {
    std::thread a([&] { errors[0] = build_error(*first); });
    std::thread b([&] { errors[1] = build_error(*second); });
    a.join();
    b.join();
  }
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  const std::vector<fs::path> left = files_in(cache.path);
  CHECK(left.size() == 2);  // one manifest, one KV file, no temporaries
  auto reader = load(kb, persisted);
  CHECK(build_error(*reader).empty());  // refuse: only a whole, matching pair passes
  CHECK(after_prefix(*reader) == after_prefix(*first));
}

TEST_CASE("cag answers equal full-prompt prefill on a small synthetic model too") {
  test::Variant v;
  v.dim = 64;
  v.ffn = 128;
  v.vocab = 64;
  v.rope_dims = 16;
  v.context_length = 512;
  v.output_scale = 4.0f;
  const test::TempFile model("hearth-cag-synthetic",
                             test::build_gguf(v, test::random_weights(v, 20261202)));
  Folder kb;
  kb.write("a.md", "the cat sat on the mat");
  kb.write("b.md", "a dog ran in the park");
  auto engine = load(kb, {}, model.path.string());
  engine->knowledge_build("stories", {});
  const std::vector<int32_t> prefix_tokens =
      engine->tokenize("the cat sat on the mat\n\na dog ran in the park\nQuestion: ", true, false);
  for (const std::string question : {"who sat", "where did the dog run"}) {
    CAPTURE(question);
    GenerationOptions on_prefix = greedy(12);
    on_prefix.knowledge_prefix = "stories";
    on_prefix.ignore_eos = true;
    const std::string asked = question + "\nAnswer:";
    const GenerationResult answer = engine->generate(asked, on_prefix);
    std::vector<int32_t> scratch = prefix_tokens;
    for (int32_t t : engine->tokenize(asked, false, false)) scratch.push_back(t);
    GenerationOptions plain = greedy(12);
    plain.ignore_eos = true;
    const GenerationResult expected = engine->generate_tokens(scratch, plain);
    CHECK(answer.tokens.size() == 12);
    CHECK(answer.tokens == expected.tokens);
  }
}
