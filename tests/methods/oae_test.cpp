// The oae metrics plugin, loaded from disk beside the method plugins: what it records of real
// requests on stories260K matches what the engine reports, its run file and Prometheus text
// agree with its counters, method overheads reach its ledger, and bad options are refused.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hearth/engine.h"
#include "hearth/error.h"
#include "test_paths.h"

using namespace hearth;
using hearth::test::binary_path;
using hearth::test::model_path;

namespace {

PluginConfig oae_plugin(std::vector<std::pair<std::string, std::string>> options) {
  PluginConfig p;
  p.name = "oae";
  p.path = binary_path("lib/hearth/plugins/hearth-oae.so");
  p.options = std::move(options);
  return p;
}

std::unique_ptr<Engine> load(std::vector<PluginConfig> plugins) {
  EngineOptions o;
  o.model_path = model_path();
  o.threads = 1;
  o.context_size = 512;
  o.plugin_dirs = {binary_path("lib/hearth/plugins")};
  o.plugins = std::move(plugins);
  return Engine::load(o);
}

GenerationOptions greedy(int n) {
  GenerationOptions g;
  g.max_tokens = n;
  g.sampling.temperature = 0;
  g.ignore_eos = true;
  return g;
}

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& s) {
  return {s.begin(), s.end()};
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("hearth-oae-test-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace

TEST_CASE("oae records requests as the engine ran them") {
  auto engine = load({oae_plugin({{"energy", "estimate"}, {"label", "plain"}})});
  std::vector<Request> requests;
  for (const char* prompt : {"Once upon a time", "The little dog", "Lily saw a"}) {
    requests.push_back(engine->submit(prompt, greedy(12)));
  }
  std::vector<GenerationResult> results;
  for (Request& r : requests) results.push_back(r.wait());

  auto s = as_map(engine->metrics_snapshot("oae"));
  CHECK(s["requests_total"] == "3");
  CHECK(s["generated_tokens_total"] == "36");
  int64_t prompt_tokens = 0;
  for (const GenerationResult& r : results) prompt_tokens += r.stats.prompt_tokens;
  CHECK(s["prompt_tokens_total"] == std::to_string(prompt_tokens));
  CHECK(s["energy_source"] == "estimate");
  CHECK(s["energy_is_estimate"] == "1");
  CHECK(std::stod(s["ttft_seconds_p50"]) > 0);
  CHECK(std::stod(s["itl_seconds_p50"]) > 0);
  CHECK(std::stod(s["decode_joules_total"]) > 0);  // CPU time x power: the run used CPU
  CHECK(std::stod(s["meter_seconds_total"]) > 0);

  const auto path = temp_file("run.json");
  engine->metrics_report(path.string(), "oae");
  std::ifstream in(path);
  const nlohmann::json run = nlohmann::json::parse(in);
  std::filesystem::remove(path);
  CHECK(run["format"] == "hearth-oae-run");
  CHECK(run["label"] == "plain");
  CHECK(run["energy_is_estimate"] == true);
  REQUIRE(run["requests"].size() == 3);
  double tokens = 0, joules = 0;
  for (const auto& r : run["requests"]) {
    CHECK(r["generated_tokens"] == 12);
    CHECK(r["status"] == "ok");
    CHECK(r["ttft_seconds"].get<double>() <= r["e2e_seconds"].get<double>());
    CHECK(r["itl_p50_seconds"].get<double>() <= r["itl_max_seconds"].get<double>());
    joules += r["prefill_joules"].get<double>() + r["decode_joules"].get<double>();
  }
  for (const auto& bin : run["throughput"]) tokens += bin["tokens"].get<double>();
  CHECK(tokens == 36);
  CHECK(run["totals"]["joules"].get<double>() == Approx(joules));
  CHECK(run["totals"]["gco2e"].get<double>() ==
        Approx(joules / 3.6e6 * 475));  // the default grid intensity, PUE 1

  const std::string prom = engine->metrics_prometheus();
  CHECK(prom.find("# TYPE hearth_oae_requests_total counter\nhearth_oae_requests_total 3\n") !=
        std::string::npos);
  CHECK(prom.find("hearth_oae_info{energy_source=\"estimate\"} 1") != std::string::npos);
}

TEST_CASE("oae and another metrics plugin run at once, each with its own metrics") {
  PluginConfig counter;
  counter.name = "test_counter";
  counter.path = binary_path("tests/plugins/hearth-test_counter.so");
  auto engine = load({oae_plugin({{"energy", "estimate"}}), counter});
  engine->generate("Once upon a time", greedy(4));
  CHECK(as_map(engine->metrics_snapshot("oae"))["requests_total"] == "1");
  CHECK(as_map(engine->metrics_snapshot("test_counter"))["request_end"] == "1");
  const std::string prom = engine->metrics_prometheus();
  CHECK(prom.find("hearth_oae_generated_tokens_total 4\n") != std::string::npos);
  CHECK(prom.find("hearth_test_counter_token 4\n") != std::string::npos);
}

TEST_CASE("a knowledge prefix's one-time cost reaches the oae ledger") {
  PluginConfig cag;
  cag.name = "cag";
  cag.path = binary_path("lib/hearth/plugins/hearth-cag.so");
  auto engine = load({oae_plugin({{"energy", "estimate"}}), cag});
  std::string doc;  // several blocks long, so that a question shares whole blocks
  for (int i = 0; i < 8; ++i) doc += "Lily had a red ball. She liked to play in the park. ";
  const KnowledgeBuildStats built = engine->knowledge_build("doc", {doc});
  GenerationOptions on_doc = greedy(4);
  on_doc.knowledge_prefix = "doc";
  engine->generate("Who had a ball?", on_doc);
  auto s = as_map(engine->metrics_snapshot("oae"));
  CHECK(s["overheads_total"] == "1");
  CHECK(std::stod(s["overhead_seconds_total"]) == Approx(built.seconds).margin(1e-6));
  const auto path = temp_file("overhead.json");
  engine->metrics_report(path.string(), "oae");
  std::ifstream in(path);
  const nlohmann::json run = nlohmann::json::parse(in);
  std::filesystem::remove(path);
  REQUIRE(run["overheads"].size() == 1);
  CHECK(run["overheads"][0]["source"] == "cag");
  CHECK(run["overheads"][0]["tokens"] == built.forwarded_tokens);
  CHECK(run["overheads"][0]["joules"].get<double>() >= 0);
  REQUIRE(run["requests"].size() == 1);  // the question forks the prefix: its blocks are shared
  CHECK(run["requests"][0]["kv_shared_peak_bytes"].get<double>() > 0);
}

TEST_CASE("oae refuses bad options before any work, naming them") {
  auto refused = [](std::vector<std::pair<std::string, std::string>> options) {
    try {
      load({oae_plugin(std::move(options))});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refused({{"energy", "rapl-only"}}), Catch::Contains("energy"));
  CHECK_THAT(refused({{"pue", "0.5"}}), Catch::Contains("pue"));
  CHECK_THAT(refused({{"grid_g_per_kwh", "lots"}}), Catch::Contains("grid_g_per_kwh"));
  CHECK_THAT(refused({{"label", "a/b"}}), Catch::Contains("label"));
  CHECK_THAT(refused({{"colour", "red"}}), Catch::Contains("colour"));
}
