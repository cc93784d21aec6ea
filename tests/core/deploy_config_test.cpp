#include "hearth/deploy_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "hearth/error.h"
#include "hearth/settings.h"

using hearth::parse_deploy_config;

TEST_CASE("a deployment file fills engine and generation options", "[config]") {
  auto c = parse_deploy_config(R"(
[model]
path = "models/m.gguf"
[runtime]
threads = 2
context_size = 256
kv_cache_mib = 8
[sampling]
temperature = 0
top_k = 10
seed = 5
max_tokens = 20
stop = ["\n\n"]
[prompt]
text = "Hello"
add_bos = false
)",
                               "/etc/hearth/deploy.toml");
  CHECK(c.engine.model_path == "/etc/hearth/models/m.gguf");
  CHECK(c.engine.threads == 2);
  CHECK(c.engine.context_size == 256);
  CHECK(c.engine.kv_cache_bytes == 8u << 20);
  CHECK(c.generation.sampling.temperature == 0.0f);
  CHECK(c.generation.sampling.top_k == 10);
  CHECK(c.generation.sampling.seed == 5u);
  CHECK(c.generation.max_tokens == 20);
  CHECK(c.generation.stop == std::vector<std::string>{"\n\n"});
  CHECK(c.prompt == "Hello");
  CHECK_FALSE(c.generation.add_bos);
}

TEST_CASE("unknown keys, wrong types and bad values name line and column", "[config]") {
  CHECK_THROWS_WITH(parse_deploy_config("[model]\npath = \"m\"\n[runtime]\nthreds = 2\n", "d.toml"),
                    Catch::Contains("d.toml:4:1") && Catch::Contains("unknown key 'threds'"));
  CHECK_THROWS_WITH(
      parse_deploy_config("[model]\npath = \"m\"\n[runtime]\nthreads = \"two\"\n", "d.toml"),
      Catch::Contains("d.toml:4:") && Catch::Contains("must be an integer"));
  CHECK_THROWS_WITH(
      parse_deploy_config("[model]\npath = \"m\"\n[sampling]\ntop_p = 3.0\n", "d.toml"),
      Catch::Contains("d.toml:4:") && Catch::Contains("outside"));
  CHECK_THROWS_WITH(parse_deploy_config("[model]\npath = \"m\"\n[serverx]\n", "d.toml"),
                    Catch::Contains("d.toml:3:") && Catch::Contains("serverx"));
  CHECK_THROWS_WITH(parse_deploy_config("[model\npath = 1\n", "d.toml"),
                    Catch::Contains("d.toml:1:"));
  CHECK_THROWS_WITH(parse_deploy_config("[runtime]\nthreads = 1\n", "d.toml"),
                    Catch::Contains("[model] path is required"));
}

TEST_CASE("[[plugins]] tables and plugin_dirs are read with their options as text", "[config]") {
  auto c = parse_deploy_config(R"(
plugin_dirs = ["plugins", "/opt/hearth/plugins"]
[model]
path = "m.gguf"
[[plugins]]
name = "trie_beam"
[plugins.options]
num_beams = 4
length_penalty = 0.5
early_stop = true
mode = "fast"
eos_token_id = [2, 13]
[[plugins]]
path = "lib/hearth-oae.so"
on_error = "skip"
)",
                               "/srv/deploy.toml");
  CHECK(c.engine.plugin_dirs == std::vector<std::string>{"/srv/plugins", "/opt/hearth/plugins"});
  REQUIRE(c.engine.plugins.size() == 2);
  const auto& beam = c.engine.plugins[0];
  CHECK(beam.name == "trie_beam");
  CHECK(beam.required);
  using Options = std::vector<std::pair<std::string, std::string>>;
  CHECK(beam.options == Options{{"early_stop", "true"},
                                {"eos_token_id", "2,13"},
                                {"length_penalty", "0.5"},
                                {"mode", "fast"},
                                {"num_beams", "4"}});
  CHECK(c.engine.plugins[1].path == "/srv/lib/hearth-oae.so");
  CHECK_FALSE(c.engine.plugins[1].required);

  CHECK_THROWS_WITH(
      parse_deploy_config(
          "[model]\npath = \"m\"\n[[plugins]]\nname = \"x\"\non_error = \"maybe\"\n", "d.toml"),
      Catch::Contains("d.toml:5:") && Catch::Contains("on_error"));
  CHECK_THROWS_WITH(
      parse_deploy_config("[model]\npath = \"m\"\n[[plugins]]\nnam = \"x\"\n", "d.toml"),
      Catch::Contains("d.toml:4:1") && Catch::Contains("unknown key 'nam'"));
  CHECK_THROWS_WITH(
      parse_deploy_config(
          "[model]\npath = \"m\"\n[[plugins]]\nname = \"x\"\n[plugins.options]\nlist = [[1]]\n",
          "d.toml"),
      Catch::Contains("d.toml:6:") && Catch::Contains("not lists or tables"));
  CHECK_THROWS_WITH(parse_deploy_config("[model]\npath = \"m\"\n[[plugins]]\nname = \"x\"\n"
                                        "[[plugins.options.t]]\na = 1\n",
                                        "d.toml"),
                    Catch::Contains("d.toml:") && Catch::Contains("not lists or tables"));
}

TEST_CASE("Tables inside [plugins.options] give dotted keys; the file's folder goes along",
          "[config]") {
  auto c = parse_deploy_config(R"(
[model]
path = "m.gguf"
[[plugins]]
name = "cag"
[plugins.options]
cache_dir = "cache"
faq.documents = ["faq.md"]
inline = {a = 1, b = {c = "deep"}}
[plugins.options.handbook]
documents = ["docs/handbook", "docs/policies.md"]
template = "{documents} Q: {question} A:"
)",
                               "/srv/site/deploy.toml");
  REQUIRE(c.engine.plugins.size() == 1);
  const auto& cag = c.engine.plugins[0];
  using Options = std::vector<std::pair<std::string, std::string>>;
  CHECK(cag.options == Options{{"cache_dir", "cache"},
                               {"faq.documents", "faq.md"},
                               {"handbook.documents", "docs/handbook,docs/policies.md"},
                               {"handbook.template", "{documents} Q: {question} A:"},
                               {"inline.a", "1"},
                               {"inline.b.c", "deep"}});
  CHECK(cag.config_dir == "/srv/site");
}

namespace {

std::string repeated(const std::string& piece, int times, const std::string& separator = "") {
  std::string out;
  for (int i = 0; i < times; ++i) out += (i ? separator : "") + piece;
  return out;
}

const std::string kValidStart = "[model]\npath = \"m.gguf\"\n";

}  // namespace

TEST_CASE("deep nesting is refused with its line before the parser recurses", "[config]") {
  // 100,000 levels overflow toml++'s recursion; the limits are checked in a linear scan.
  const std::string deep = repeated("a", 100000, ".");
  CHECK_THROWS_WITH(parse_deploy_config(kValidStart + "[" + deep + "]\n", "d.toml"),
                    Catch::StartsWith("d.toml:3:") && Catch::Contains("table header"));
  CHECK_THROWS_WITH(parse_deploy_config(kValidStart + "[[" + deep + "]]\n", "d.toml"),
                    Catch::StartsWith("d.toml:3:") && Catch::Contains("table header"));
  CHECK_THROWS_WITH(parse_deploy_config(kValidStart + deep + " = 1\n", "d.toml"),
                    Catch::StartsWith("d.toml:3:") && Catch::Contains("dotted parts"));
  CHECK_THROWS_WITH(
      parse_deploy_config(kValidStart + "x = " + repeated("[", 100000) + repeated("]", 100000),
                          "d.toml"),
      Catch::StartsWith("d.toml:3:") && Catch::Contains("nested"));
  CHECK_THROWS_WITH(
      parse_deploy_config(
          kValidStart + "x = " + repeated("{a = ", 100000) + "1" + repeated("}", 100000), "d.toml"),
      Catch::StartsWith("d.toml:3:") && Catch::Contains("nested"));
  CHECK_THROWS_WITH(parse_deploy_config(kValidStart + "x = {" + deep + " = 1}", "d.toml"),
                    Catch::StartsWith("d.toml:3:") && Catch::Contains("dotted parts"));
}

TEST_CASE("the nesting scan leaves valid files alone", "[config]") {
  // Dots and brackets inside strings, comments, numbers and multi-line values are not keys.
  auto c =
      parse_deploy_config(R"(# [a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h]
[model]
path = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.gguf"
[sampling]
stop = ["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{', """
a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
""", '''x''']
temperature = 0.5
[prompt]
text = "1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5 10.5 11.5 12.5 13.5 14.5 15.5 16.5 17.5 18.5 19.5 20.5 21.5 22.5 23.5 24.5 25.5 26.5 27.5 28.5 29.5 30.5 31.5 32.5 33.5"
[[plugins]]
name = "p"
[plugins.options]
"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h" = 1.5
)",
                          "/d.toml");
  CHECK(c.generation.stop.size() == 4);
  CHECK(c.generation.sampling.temperature == 0.5f);
  REQUIRE(c.engine.plugins.size() == 1);
  CHECK(c.engine.plugins[0].options.size() == 1);
}

TEST_CASE("every setting is checked against one definition, with its place in the file",
          "[config]") {
  auto refusal = [](const std::string& section, const std::string& line) {
    try {
      parse_deploy_config(kValidStart + "[" + section + "]\n" + line + "\n", "d.toml");
    } catch (const hearth::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refusal("runtime", "kv_cache_type = \"q8\""),
             Catch::StartsWith("d.toml:4:17:") && Catch::Contains("\"q8\" is not one of"));
  CHECK_THAT(refusal("runtime", "cpu_kernels = \"avx9\""),
             Catch::StartsWith("d.toml:4:15:") && Catch::Contains("\"avx9\" is not one of"));
  CHECK_THAT(refusal("runtime", "device = \"\""),
             Catch::StartsWith("d.toml:4:10:") && Catch::Contains("device"));
  CHECK_THAT(refusal("runtime", "device = \"cuda:x\""),
             Catch::StartsWith("d.toml:4:10:") && Catch::Contains("\"cuda:x\" is not a device"));
  CHECK_THAT(refusal("runtime", "device = \"tpu:0\""), Catch::Contains("is not a device"));
  CHECK(refusal("runtime", "device = \"cuda:1\"").empty());
  CHECK(refusal("runtime", "device = \"hip\"").empty());
  CHECK(refusal("runtime", "device = \"auto\"").empty());
  CHECK_THAT(refusal("sampling", "top_p = 0.0"),
             Catch::StartsWith("d.toml:4:9:") && Catch::Contains("outside (0, 1]"));
  CHECK_THAT(refusal("sampling", "temperature = -1"), Catch::StartsWith("d.toml:4:"));
  CHECK_THAT(refusal("sampling", "max_tokens = -2"), Catch::StartsWith("d.toml:4:"));
  CHECK_THAT(refusal("runtime", "threads = 1025"), Catch::Contains("outside 0..1024"));
  CHECK(refusal("runtime", "threads = 1024").empty());
  CHECK_THAT(refusal("sampling", "top_p = 1e-50"),  // 0 once stored as a float
             Catch::StartsWith("d.toml:4:9:") && Catch::Contains("becomes 0 as a 32-bit float"));
  CHECK_THAT(refusal("sampling", "min_p = 1.0000001"), Catch::Contains("1.0000001 is outside"));
  CHECK(refusal("sampling", "max_tokens = -1").empty());

  // The same limits apply to the API, naming the setting.
  hearth::EngineOptions engine;
  engine.threads = 1025;
  CHECK_THROWS_WITH(hearth::settings::validate(engine), Catch::Contains("threads: 1025"));
  hearth::GenerationOptions generation;
  generation.max_tokens = -2;
  CHECK_THROWS_WITH(hearth::settings::validate(generation), Catch::Contains("max_tokens: -2"));
  generation.max_tokens = -1;
  generation.sampling.temperature = -1;
  CHECK_THROWS_WITH(hearth::settings::validate(generation), Catch::Contains("temperature: -1"));
  generation.sampling.temperature = std::nanf("");
  CHECK_THROWS_WITH(hearth::settings::validate(generation), Catch::Contains("temperature"));
}

TEST_CASE("files that are not regular files or too large are refused by name", "[config]") {
  CHECK_THROWS_WITH(hearth::load_deploy_config("/dev/zero"),
                    Catch::Contains("'/dev/zero': is a character device"));
  CHECK_THROWS_WITH(hearth::load_deploy_config("/"), Catch::Contains("'/': is a directory"));
  const auto dir =
      std::filesystem::temp_directory_path() / ("hearth-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  REQUIRE(::mkfifo((dir / "fifo.toml").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(hearth::load_deploy_config((dir / "fifo.toml").string()),
                    Catch::Contains("is a FIFO"));
  {
    std::ofstream big(dir / "big.toml");
    big << std::string((1 << 20) + 1, '#');
  }
  CHECK_THROWS_WITH(hearth::load_deploy_config((dir / "big.toml").string()),
                    Catch::Contains("above the limit"));
  {
    std::ofstream deploy(dir / "fifo-prompt.toml");
    deploy << kValidStart << "[prompt]\nfile = \"fifo.toml\"\n";
  }
  CHECK_THROWS_WITH(hearth::load_deploy_config((dir / "fifo-prompt.toml").string()),
                    Catch::Contains("fifo-prompt.toml:4:8") && Catch::Contains("is a FIFO"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("strings cannot hide a deep key from the nesting scan", "[config]") {
  const std::string deep = repeated("a", 100000, ".");
  // Multi-line strings may end with one or two extra quotes; a scan that stopped at the first
  // three would read the rest as an open string or array and miss the key below.
  const std::string openings[] = {
      R"(x = """q"""" # "[)", R"(x = '''q'''' # '[)", R"(x = """q""""" # "[)",
      R"(x = "q\"[" # ")",    R"(x = 'q\' # '[)",
  };
  for (const auto& opening : openings) {
    INFO(opening);
    CHECK_THROWS_WITH(parse_deploy_config(kValidStart + opening + "\n[" + deep + "]\n", "d.toml"),
                      Catch::StartsWith("d.toml:4:") && Catch::Contains("dotted parts"));
    CHECK_THROWS_WITH(parse_deploy_config(kValidStart + opening + "\n" + deep + " = 1\n", "d.toml"),
                      Catch::StartsWith("d.toml:4:") && Catch::Contains("dotted parts"));
  }
  // A line continuation in a multi-line string still counts as a line.
  CHECK_THROWS_WITH(
      parse_deploy_config(kValidStart + "s = \"\"\"a\\\nb\"\"\"\n[" + deep + "]\n", "d.toml"),
      Catch::StartsWith("d.toml:5:"));
}

TEST_CASE("the [server] table sets how hearth serve listens and its limits", "[config]") {
  const auto c = parse_deploy_config(R"(
[model]
path = "m.gguf"
[server]
listen = "0.0.0.0:9000"
api_key_file = "secrets/keys.txt"
model_alias = "assistant"
io_threads = 4
max_body_bytes = 65536
max_concurrent_requests = 8
max_queued_requests = 0
read_timeout = 5
idle_timeout = 2.5
shutdown_grace = 0
)",
                                     "/srv/hearth/deploy.toml");
  CHECK(c.server.listen == "0.0.0.0:9000");
  CHECK(c.server.api_key_file == "/srv/hearth/secrets/keys.txt");
  CHECK(c.server.model_alias == "assistant");
  CHECK(c.server.io_threads == 4);
  CHECK(c.server.max_body_bytes == 65536u);
  CHECK(c.server.max_concurrent_requests == 8);
  CHECK(c.server.max_queued_requests == 0);
  CHECK(c.server.read_timeout == 5.0);
  CHECK(c.server.idle_timeout == 2.5);
  CHECK(c.server.shutdown_grace == 0.0);
  CHECK(c.server.max_tokens_limit == hearth::ServerOptions{}.max_tokens_limit);

  const std::pair<const char*, const char*> bad[] = {
      {"io_threads = 0", "'io_threads' = 0 is outside"},
      {"read_timeout = 0", "'read_timeout'"},
      {"max_body_bytes = 10", "'max_body_bytes'"},
      {"listen = 8080", "'listen' must be a string"},
      {"max_conections = 3", "unknown key 'max_conections' in [server]"},
  };
  for (const auto& [line, message] : bad) {
    INFO(line);
    CHECK_THROWS_WITH(
        parse_deploy_config(std::string("[model]\npath = \"m.gguf\"\n[server]\n") + line + "\n",
                            "/d.toml"),
        Catch::Contains("/d.toml:4:") && Catch::Contains(message));
  }
}
