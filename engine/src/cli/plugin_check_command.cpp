// `hearth plugin-check LIB`: what a plugin author runs. Loads the library, prints what it
// declares, then runs the contract tests of its interface kind against a real model. Exit
// status 0 only when every check passes.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "hearth/error.h"
#include "hearth/plugin.h"
#include "hearth/plugin_probe.h"
#include "hearth/text.h"

namespace hearth::cli {
namespace {

class Checks {
 public:
  void run(const std::string& name, const std::function<void()>& body) {
    try {
      body();
      std::printf("  ok    %s\n", name.c_str());
    } catch (const std::exception& e) {
      ++failures_;
      std::printf("  FAIL  %s: %s\n", name.c_str(), printable(e.what()).c_str());
    }
  }
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

void expect(bool condition, const std::string& what) {
  if (!condition) throw Error(what);
}

GenerationOptions short_greedy(const std::string& strategy) {
  GenerationOptions g;
  g.max_tokens = 12;
  g.sampling.temperature = 0;
  g.strategy = strategy;
  return g;
}

void check_decoding(Checks& checks, Engine& engine, const std::string& name) {
  checks.run("decoding: a request returns tokens within its limit", [&] {
    auto result = engine.generate("Once upon a time", short_greedy(name));
    expect(result.tokens.size() <= 12, std::to_string(result.tokens.size()) + " tokens > 12");
  });
  checks.run("decoding: no sequence or cache block outlives the request", [&] {
    engine.generate("The little dog", short_greedy(name));
    // The host drops what a plugin leaves behind; a careful plugin leaves nothing.
    int32_t leaked = engine.plugins().at(0).leaked_sequences;
    expect(leaked == 0, "the plugin left " + std::to_string(leaked) + " sequences behind");
    auto stats = engine.kv_cache_stats();
    expect(stats.sequences == 0, std::to_string(stats.sequences) + " sequences left");
    expect(stats.used_blocks == 0, std::to_string(stats.used_blocks) + " blocks left");
  });
  checks.run("decoding: the same request twice gives the same tokens", [&] {
    auto a = engine.generate("Lily went", short_greedy(name));
    auto b = engine.generate("Lily went", short_greedy(name));
    expect(a.tokens == b.tokens, "results differ");
  });
  checks.run("decoding: concurrent requests give their solo results", [&] {
    const char* prompts[] = {"Once upon a time", "The little dog", "Lily went"};
    std::vector<GenerationResult> solo;
    for (const char* p : prompts) solo.push_back(engine.generate(p, short_greedy(name)));
    std::vector<Request> together;
    for (const char* p : prompts) together.push_back(engine.submit(p, short_greedy(name)));
    for (size_t i = 0; i < together.size(); ++i) {
      expect(together[i].wait().tokens == solo[i].tokens,
             std::string("'") + prompts[i] + "' differs from its solo run");
    }
  });
  checks.run("decoding: a cancelled request leaves no sequence behind", [&] {
    GenerationOptions g = short_greedy(name);
    g.max_tokens = 200;
    Request r = engine.submit("Once upon a time", g);
    r.cancel();
    r.wait();
    auto stats = engine.kv_cache_stats();
    expect(stats.sequences == 0, std::to_string(stats.sequences) + " sequences left");
    expect(stats.used_blocks == 0, std::to_string(stats.used_blocks) + " blocks left");
  });
}

void check_knowledge(Checks& checks, Engine& engine) {
  const std::string document = "Once upon a time there was a cat named Tom. Tom liked milk.";
  std::vector<float> first;
  int32_t prefix_length = 0;
  checks.run("knowledge: build a prefix and attach it", [&] {
    engine.knowledge_build("check", {document});
    SequenceId s = engine.knowledge_attach("check");
    prefix_length = engine.sequence_length(s);
    expect(prefix_length > 0, "attached sequence is empty");
    expect(engine.kv_cache_stats().shared_blocks > 0,
           "attach copied the prefix instead of sharing it");
    BatchToken t{engine.tokenize(" Tom", false, false).front(), prefix_length, s, true};
    engine.decode({&t, 1}, first);
    engine.knowledge_reset("check", s);
    expect(engine.sequence_length(s) == prefix_length, "reset did not return to the prefix");
    engine.drop_sequence(s);
  });
  checks.run("knowledge: save and restore give the same continuation", [&] {
    auto path = (std::filesystem::temp_directory_path() / "hearth-plugin-check.kv").string();
    engine.knowledge_save("check", path);
    engine.knowledge_restore("restored", path);
    std::filesystem::remove(path);
    SequenceId s = engine.knowledge_attach("restored");
    std::vector<float> again;
    BatchToken t{engine.tokenize(" Tom", false, false).front(), prefix_length, s, true};
    engine.decode({&t, 1}, again);
    engine.drop_sequence(s);
    expect(again == first, "logits after restore differ");
  });
  checks.run("knowledge: an unknown prefix is an error", [&] {
    bool refused = false;
    try {
      engine.knowledge_attach("no-such-prefix");
    } catch (const Error&) {
      refused = true;
    }
    expect(refused, "attach of an unknown prefix succeeded");
  });
}

void check_attention(Checks& checks, Engine& engine) {
  checks.run("attention: the transformed model generates finite logits", [&] {
    SequenceId s = engine.create_sequence();
    auto logits = engine.prefill(s, engine.tokenize("Once upon a time", true, false));
    engine.drop_sequence(s);
    for (float v : logits) expect(std::isfinite(v), "non-finite logit");
  });
  checks.run("attention: greedy generation runs", [&] {
    expect(!engine.generate("Once upon a time", short_greedy("sampling")).tokens.empty(),
           "no tokens generated");
  });
}

void check_metrics(Checks& checks, Engine& engine) {
  checks.run("metrics: events of a request reach the plugin and show in its snapshot", [&] {
    engine.generate("Once upon a time", short_greedy("sampling"));
    auto snapshot = engine.metrics_snapshot();
    expect(!snapshot.empty(), "empty snapshot");
    for (const auto& [key, value] : snapshot) expect(!key.empty(), "snapshot entry without key");
  });
  checks.run("metrics: a report can be written (when the plugin writes reports)", [&] {
    auto path = (std::filesystem::temp_directory_path() / "hearth-plugin-check.report").string();
    try {
      engine.metrics_report(path);
    } catch (const Error& e) {
      if (std::string(e.what()).find("does not write reports") != std::string::npos) return;
      throw;
    }
    expect(std::filesystem::exists(path), "no report file written");
    std::filesystem::remove(path);
  });
}

}  // namespace

int plugin_check_command(int argc, char** argv) {
  std::vector<std::string> paths, options;
  std::string model;
  ArgParser parser("hearth plugin-check LIB -m MODEL [-o KEY=VALUE]...",
                   "Loads a plugin library, prints what it declares and runs the contract "
                   "tests of its interface on MODEL. Exits 0 only when all pass.");
  parser.positional("LIB", &paths, 1);
  parser.option({"-m", "--model"}, "FILE", "model to run the checks on", &model);
  parser.option({"-o", "--option"}, "KEY=VALUE", "plugin option (repeatable)", &options);
  if (!parser.parse(argc, argv)) return 0;
  if (paths.empty()) throw Error("no plugin library given (see --help)");
  if (model.empty()) throw Error("no model: give -m MODEL");
  const std::string path = std::filesystem::absolute(paths[0]).string();

  PluginLibraryInfo library;
  try {
    library = probe_plugin_library(path);
  } catch (const Error& e) {
    std::fprintf(stderr, "hearth plugin-check: refused: %s\n", printable(e.what()).c_str());
    return 1;
  }
  std::printf(
      "plugin:      %s %s\nkind:        %s\nABI:         %u.%u (host %d.%d)\n"
      "description: %s\nfile:        %s\n\ncontract checks:\n",
      printable(library.name).c_str(), printable(library.version).c_str(), library.kind.c_str(),
      library.abi_major, library.abi_minor, HEARTH_PLUGIN_ABI_MAJOR, HEARTH_PLUGIN_ABI_MINOR,
      printable(library.description).c_str(), printable(path).c_str());

  PluginConfig config;
  config.name = library.name;
  config.path = path;
  for (const auto& option : options) {
    auto eq = option.find('=');
    if (eq == std::string::npos) throw Error("option '" + option + "' is not KEY=VALUE");
    config.options.emplace_back(option.substr(0, eq), option.substr(eq + 1));
  }
  Checks checks;
  std::unique_ptr<Engine> engine;
  checks.run("create the plugin and load the model with it", [&] {
    EngineOptions engine_options;
    engine_options.model_path = model;
    engine_options.threads = 1;
    engine_options.context_size = 512;
    engine_options.plugins = {config};
    engine = Engine::load(engine_options);
  });
  if (engine) {
    if (library.kind == "decoding") {
      if (!library.step_wise) {
        std::printf(
            "  note  whole-request run() (ABI before 1.2): each request runs alone, and every "
            "other request waits for it; implement begin/step/result/end to share passes\n");
      }
      check_decoding(checks, *engine, library.name);
    } else if (library.kind == "knowledge") {
      check_knowledge(checks, *engine);
    } else if (library.kind == "attention") {
      check_attention(checks, *engine);
    } else if (library.kind == "metrics") {
      check_metrics(checks, *engine);
    }
    checks.run("destroy the plugin", [&] { engine.reset(); });
  }
  std::printf("\n%s: %d check(s) failed\n", checks.failures() ? "FAILED" : "passed",
              checks.failures());
  return checks.failures() ? 1 : 0;
}

}  // namespace hearth::cli
