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
