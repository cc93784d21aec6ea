#include "hearth/deploy_config.h"

#include <catch2/catch.hpp>

#include "hearth/error.h"

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
          "[model]\npath = \"m\"\n[[plugins]]\nname = \"x\"\n[plugins.options]\nlist = [1]\n",
          "d.toml"),
      Catch::Contains("d.toml:6:") && Catch::Contains("string, number or boolean"));
}
