// The plugin host, exercised through real fixture libraries loaded from disk.
#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"
#include "util/checksum.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return test::binary_path("tests/plugins/hearth-" + name + ".so");
}

PluginConfig plugin(const std::string& name,
                    std::vector<std::pair<std::string, std::string>> options = {}) {
  PluginConfig p;
  p.name = name;
  p.path = fixture(name);
  p.options = std::move(options);
  return p;
}

std::unique_ptr<Engine> load(std::vector<PluginConfig> plugins,
                             const std::string& model = test::model_path()) {
  EngineOptions o;
  o.model_path = model;
  o.threads = 1;
  o.context_size = 512;
  o.plugins = std::move(plugins);
  return Engine::load(o);
}

std::string refusal(std::vector<PluginConfig> plugins) {
  try {
    load(std::move(plugins));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

GenerationOptions greedy(int32_t tokens, const std::string& strategy = "") {
  GenerationOptions g;
  g.max_tokens = tokens;
  g.sampling.temperature = 0;
  g.strategy = strategy;
  return g;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& kv) {
  return {kv.begin(), kv.end()};
}

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() /
         ("hearth-plugin-test-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace

TEST_CASE("a decoding plugin driving forks, batches and truncation matches built-in greedy",
          "[plugins][decoding]") {
  auto engine = load({plugin("test_greedy")});
  REQUIRE(engine->plugins().size() == 1);
  CHECK(engine->plugins()[0].kind == "decoding");
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  auto via_plugin = engine->generate("", greedy(200));
  CHECK(via_plugin.text == expected);
  auto builtin = engine->generate("", greedy(200, "sampling"));
  CHECK(via_plugin.tokens == builtin.tokens);
  auto stats = engine->kv_cache_stats();
  CHECK(stats.sequences == 0);
  CHECK(stats.used_blocks == 0);
  CHECK(engine->plugins()[0].leaked_sequences == 0);
  CHECK_THROWS_WITH(engine->generate("", greedy(5, "beam")),
                    Catch::Contains("no decoding plugin named 'beam'"));
  auto with_logprobs = greedy(5);
  with_logprobs.logprobs = 2;
  CHECK_THROWS_WITH(engine->generate("", with_logprobs),
                    Catch::Contains("logprobs") && Catch::Contains("test_greedy"));
}

TEST_CASE("a knowledge plugin builds, attaches, resets, saves and restores a prefix",
          "[plugins][knowledge]") {
  auto engine = load({plugin("test_prefix")});
  engine->knowledge_build("story",
                          {"Once upon a time there was a cat named Tom.", "Tom liked milk."});
  SequenceId a = engine->knowledge_attach("story");
  const int32_t prefix = engine->sequence_length(a);
  REQUIRE(prefix > 5);
  CHECK(engine->kv_cache_stats().shared_blocks > 0);

  // A request on the prefix: its continuation equals prefilling the same text from scratch.
  auto on_prefix = engine->generate(" Tom", [] {
    auto g = greedy(8, "sampling");
    g.knowledge_prefix = "story";
    return g;
  }());
  auto same_tokens =
      engine->tokenize("Once upon a time there was a cat named Tom.\nTom liked milk.", true, false);
  for (int32_t t : engine->tokenize(" Tom", false, false)) same_tokens.push_back(t);
  auto scratch = engine->generate_tokens(same_tokens, greedy(8, "sampling"));
  CHECK(on_prefix.tokens == scratch.tokens);

  std::vector<float> before, after;
  BatchToken next{engine->tokenize(" Tom", false, false).front(), prefix, a, true};
  engine->decode({&next, 1}, before);
  engine->knowledge_reset("story", a);
  CHECK(engine->sequence_length(a) == prefix);

  const auto path = temp_file("story.kv");
  engine->knowledge_save("story", path.string());
  engine->knowledge_restore("story-restored", path.string());
  SequenceId b = engine->knowledge_attach("story-restored");
  CHECK(engine->sequence_length(b) == prefix);
  next.sequence = b;
  engine->decode({&next, 1}, after);
  CHECK(after == before);

  // The same file on another model is refused with a clear reason.
  auto other = load({plugin("test_prefix")}, test::mha_model_path());
  CHECK_THROWS_WITH(other->knowledge_restore("story", path.string()),
                    Catch::Contains("another model") && Catch::Contains("test_prefix"));
  // A damaged file is refused too.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(engine->knowledge_restore("broken", path.string()), Catch::Contains("damaged"));
  // A header claiming far more positions than the file holds, with its checksum forged to
  // match, is refused before anything is allocated for it.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> header(64 + 5 * sizeof(int32_t));  // fixed header + 5 layers' KV heads
    f.read(header.data(), header.size());
    const uint32_t huge = 50'000'000;
    std::memcpy(header.data() + 20, &huge, sizeof huge);  // FileHeader::tokens
    util::Fnv1a sum;
    sum.update(header.data(), header.size());
    const uint64_t check = sum.digest();
    f.seekp(0);
    f.write(header.data(), header.size());
    f.write(reinterpret_cast<const char*>(&check), sizeof check);
  }
  CHECK_THROWS_WITH(engine->load_sequence(path.string()), Catch::Contains("room for"));
  fs::remove(path);
}

TEST_CASE("an attention plugin merges duplicated KV heads without changing the output",
          "[plugins][attention]") {
  const std::string expected =
      read_text(test::source_path("examples/models/expected-greedy-from-bos.txt"));
  auto plain = load({}, test::mha_model_path());
  auto merged = load({plugin("test_merge_heads", {{"groups", "4"}})}, test::mha_model_path());
  CHECK(plain->model_info().kv_heads == 8);
  CHECK(merged->model_info().kv_heads == 4);
  CHECK(merged->kv_cache_stats().block_bytes * 2 == plain->kv_cache_stats().block_bytes);
  CHECK(merged->generate("", greedy(200)).text == expected);
  // Two groups are not lossless, but the model still runs.
  auto lossy = load({plugin("test_merge_heads", {{"groups", "2"}})}, test::mha_model_path());
  CHECK(lossy->model_info().kv_heads == 2);
  CHECK(lossy->generate("", greedy(20)).tokens.size() == 20);
  CHECK_THAT(refusal({plugin("test_merge_heads", {{"groups", "3"}})}),
             Catch::Contains("test_merge_heads"));
  // Optional and failing: skipped, and the model is left as it was.
  auto skipped_config = plugin("test_merge_heads", {{"groups", "3"}});
  skipped_config.required = false;
  auto skipped = load({skipped_config}, test::mha_model_path());
  CHECK(skipped->plugins().empty());
  CHECK(skipped->model_info().kv_heads == 8);
  CHECK(skipped->plugin_warnings().size() == 1);
}

TEST_CASE("metrics plugins receive every event; several run at once", "[plugins][metrics]") {
  auto engine = load({plugin("test_counter"), plugin("test_counter_v1_0")});
  engine->generate("Once upon a time", greedy(10));
  for (const char* name : {"test_counter", "test_counter_v1_0"}) {
    auto counts = as_map(engine->metrics_snapshot(name));
    INFO(name);
    CHECK(counts["request_start"] == "1");
    CHECK(counts["prompt_done"] == "1");
    CHECK(counts["token"] == "10");
    CHECK(counts["request_end"] == "1");
    CHECK(counts["last_generated_tokens"] == "10");
  }
  const auto report = temp_file("report.txt");
  engine->metrics_report(report.string(), "test_counter");
  CHECK_THAT(read_text(report.string()), Catch::Contains("token=10"));
  fs::remove(report);
  // Built against ABI 1.0, which had no write_report: the host must not call past its struct.
  CHECK_THROWS_WITH(engine->metrics_report(report.string(), "test_counter_v1_0"),
                    Catch::Contains("does not write reports"));
  CHECK_THROWS_WITH(engine->metrics_snapshot(), Catch::Contains("several metrics plugins"));
}

TEST_CASE("bad plugins are refused with one clear line and never crash the host",
          "[plugins][abi]") {
  CHECK_THAT(refusal({plugin("test_wrong_major")}), Catch::Contains("ABI major 2 != 1"));
  CHECK_THAT(refusal({plugin("test_no_entry")}),
             Catch::Contains("not a plugin") && Catch::Contains("hearth_plugin_entry"));
  CHECK_THAT(refusal({plugin("test_missing_member")}),
             Catch::Contains("missing member: decoding.run"));
  CHECK_THAT(refusal({plugin("test_faulty", {{"fail_create", "true"}})}),
             Catch::Contains("test_faulty") && Catch::Contains("refused its creation"));
  CHECK_THAT(refusal({plugin("test_greedy", {{"bogus", "1"}})}),
             Catch::Contains("unknown option 'bogus'"));

  // Random bytes named like a plugin.
  const auto junk = temp_file("junk") / "hearth-junk.so";
  fs::create_directories(junk.parent_path());
  {
    std::ofstream out(junk, std::ios::binary);
    std::mt19937 rng(7);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(rng()));
  }
  PluginConfig random_file;
  random_file.path = junk.string();
  CHECK_THAT(refusal({random_file}),
             Catch::Contains("hearth-junk.so") && Catch::Contains("not a loadable library"));

  // An optional plugin is skipped with a warning and the engine starts.
  random_file.required = false;
  auto engine = load({random_file});
  CHECK(engine->plugins().empty());
  REQUIRE(engine->plugin_warnings().size() == 1);
  CHECK_THAT(engine->plugin_warnings()[0], Catch::Contains("not a loadable library"));
  fs::remove_all(junk.parent_path());

  PluginConfig missing;
  missing.name = "absent";
  CHECK_THAT(refusal({missing}), Catch::Contains("no hearth-absent.so"));
}

TEST_CASE("a plugin whose calls throw leaves the engine working", "[plugins][abi]") {
  auto engine = load({plugin("test_faulty")});
  auto result = engine->generate("Once", greedy(5));
  CHECK(result.tokens.size() == 5);
  CHECK_THROWS_WITH(engine->metrics_snapshot(), Catch::Contains("test_faulty"));
}

TEST_CASE("plugins are found by name through HEARTH_PLUGIN_PATH and plugin_dirs", "[plugins]") {
  PluginConfig by_name;
  by_name.name = "test_counter";
  ::setenv("HEARTH_PLUGIN_PATH", test::binary_path("tests/plugins").c_str(), 1);
  CHECK(load({by_name})->plugins().at(0).path == fixture("test_counter"));
  ::unsetenv("HEARTH_PLUGIN_PATH");

  EngineOptions o;
  o.model_path = test::model_path();
  o.threads = 1;
  o.plugin_dirs = {test::binary_path("tests/plugins")};
  o.plugins = {by_name};
  CHECK(Engine::load(o)->plugins().at(0).name == "test_counter");
}

TEST_CASE("a truncated plugin library is refused before dlopen, at every length",
          "[plugins][abi]") {
  // A half-copied library maps segments past the end of the file: touching them is a SIGBUS
  // that would end this test process, so surviving every length is part of the assertion.
  const std::string source = fixture("test_counter");
  std::ifstream in(source, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  REQUIRE(bytes.size() > sizeof(Elf64_Ehdr));
  // Past the end of the last loadable segment only section data is missing, which the
  // loader never reads: such a copy may load.
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  size_t loadable_end = 0;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, bytes.data() + header.e_phoff + i * sizeof segment, sizeof segment);
    if (segment.p_type == PT_LOAD) {
      loadable_end = std::max<size_t>(loadable_end, segment.p_offset + segment.p_filesz);
    }
  }
  REQUIRE(loadable_end > 4096);
  const auto dir = temp_file("truncated");
  fs::create_directories(dir);
  std::vector<size_t> lengths = {
      0, 3, 4, 63, 64, 65, 200, loadable_end - 1, loadable_end, bytes.size() - 1};
  for (size_t n = 500; n < bytes.size(); n += 997) lengths.push_back(n);
  for (size_t n : lengths) {
    const auto path = dir / ("hearth-cut-" + std::to_string(n) + ".so");
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(n));
    PluginConfig cut;
    cut.path = path.string();
    const std::string why = refusal({cut});
    INFO("length " << n << " of " << bytes.size() << ": " << why);
    if (n < loadable_end) {
      CHECK_THAT(why, Catch::Contains(path.filename().string()) &&
                          Catch::Contains(n < 4 ? "no ELF header" : "truncated ELF"));
    } else {
      CHECK((why.empty() || why.find(path.filename().string()) != std::string::npos));
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("plugin files that are not libraries are named as such", "[plugins][abi]") {
  const auto dir = temp_file("not-libraries");
  fs::create_directories(dir);
  auto refused_path = [&](const fs::path& path) {
    PluginConfig p;
    p.path = path.string();
    return refusal({p});
  };
  CHECK_THAT(refused_path(dir / "absent.so"), Catch::Contains("No such file"));
  CHECK_THAT(refused_path(dir), Catch::Contains("is a directory"));
  fs::create_symlink(dir / "nowhere.so", dir / "dangling.so");
  CHECK_THAT(refused_path(dir / "dangling.so"), Catch::Contains("dangling symbolic link"));
  REQUIRE(::mkfifo((dir / "fifo.so").c_str(), 0600) == 0);
  CHECK_THAT(refused_path(dir / "fifo.so"), Catch::Contains("is a FIFO"));
  CHECK_THAT(refused_path("/proc/self/exe"), Catch::Contains("an executable program"));
  fs::remove_all(dir);
}
